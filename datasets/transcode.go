package datasets

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"govision.dev/vision/imageio"
)

// TranscodeOptions configure Transcode.
type TranscodeOptions struct {
	// Workers is the number of goroutines decoding, transforming and
	// encoding images; 0 means GOMAXPROCS.
	Workers int
	// Quality is the JPEG quality of images written as JPEG; 0 means
	// imageio.JPEGQuality (95).
	Quality int
	// Dir is the writer's folder. The workers write each image straight
	// to its place there (Writer.ImageFile), in parallel; the writer then
	// finds it in place. Empty: images are handed to the writer as pixels.
	Dir string
	// Resume keeps an image already at its place in Dir (written by an
	// interrupted run, atomically, so whole) and transforms only the
	// record's annotations, from the source image's size.
	Resume bool
	// Seed seeds the random transforms: record i gets SampleRNG(Seed, 0, i).
	Seed uint64
	// Progress, if set, is called with the number of records done.
	Progress func(n int)
}

// Transcode is Convert with a transform applied to every image on
// parallel workers: read, decode, transform, encode, write. Records reach
// the writer in the reader's order, and at most 2·Workers are in memory
// at once. It closes w.
func Transcode(ctx context.Context, r Reader, w Writer, t Transform, opt TranscodeOptions) (*Report, error) {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if opt.Quality <= 0 {
		opt.Quality = imageio.JPEGQuality
	}
	type item struct {
		seq int
		rec *Record
		err error
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan item)
	results := make(chan item, workers)
	tokens := make(chan struct{}, 2*workers)
	var readErr error
	go func() { // reader
		defer close(jobs)
		for seq := 0; ; seq++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			rec, err := r.Next()
			if err == io.EOF {
				return
			}
			var re *RecordError
			if err != nil && !errors.As(err, &re) {
				readErr = err
				cancel()
				return
			}
			select {
			case jobs <- item{seq, rec, err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for it := range jobs {
				if it.err == nil {
					it.err = transcodeOne(it.seq, it.rec, w, t, opt)
				}
				results <- it
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	rep := &Report{Classes: len(r.Classes())}
	pending := map[int]item{}
	next := 0 // the sequence number of the record the writer takes next
	var werr error
	for it := range results {
		pending[it.seq] = it
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-tokens
			if opt.Progress != nil {
				opt.Progress(next)
			}
			if werr != nil {
				continue
			}
			err := p.err
			if err == nil {
				err = w.Write(p.rec)
			}
			var re *RecordError
			switch {
			case errors.As(err, &re):
				rep.Bad = append(rep.Bad, err)
			case err != nil:
				werr = err
				cancel()
			default:
				rep.Records++
				rep.Objects += len(p.rec.Objects)
			}
		}
	}
	cerr := w.Close()
	switch {
	case readErr != nil:
		return rep, readErr
	case werr != nil:
		return rep, werr
	case parent.Err() != nil:
		return rep, parent.Err()
	case cerr != nil:
		return rep, cerr
	}
	rep.Dropped = w.Dropped()
	return rep, nil
}

// transcodeOne transforms one record and, when the writer has a place for
// its image in opt.Dir, encodes it there.
func transcodeOne(seq int, rec *Record, w Writer, t Transform, opt TranscodeOptions) error {
	rel := ""
	if opt.Dir != "" {
		rel = w.ImageFile(rec)
	}
	dst := ""
	if rel != "" {
		dst = filepath.Join(opt.Dir, filepath.FromSlash(rel))
	}
	rng := SampleRNG(opt.Seed, 0, seq)
	if dst != "" && opt.Resume {
		if f, err := os.Open(dst); err == nil {
			cfg, _, cerr := image.DecodeConfig(f)
			f.Close()
			if cerr == nil {
				ann := rec.Clone()
				if ann.Width == 0 || ann.Height == 0 {
					var err error
					if ann.Width, ann.Height, err = rec.Image.Size(); err != nil {
						return &RecordError{Where: firstNonEmpty(rec.Image.Path, rec.Source), Err: err}
					}
				}
				ann.Image = Image{}
				if t != nil {
					if err := t.Apply(ann, rng); err != nil {
						return err
					}
				}
				if ann.Width == cfg.Width && ann.Height == cfg.Height {
					ann.Image = Image{Path: dst}
					*rec = *ann
					return nil
				}
				rng = SampleRNG(opt.Seed, 0, seq) // not the expected size: do it again
			}
		}
	}
	if t != nil {
		if err := t.Apply(rec, rng); err != nil {
			var re *RecordError
			if errors.As(err, &re) {
				return err
			}
			return &RecordError{Where: firstNonEmpty(rec.Image.Path, rec.Source), Err: err}
		}
	}
	if dst == "" {
		return nil
	}
	img, err := rec.Image.Decode(defaultDecoder)
	if err != nil {
		return &RecordError{Where: rec.Source, Err: err}
	}
	if err := createAtomic(dst, func(wr io.Writer) error {
		switch strings.ToLower(filepath.Ext(dst)) {
		case ".jpg", ".jpeg":
			return jpeg.Encode(wr, img, &jpeg.Options{Quality: opt.Quality})
		}
		return encodeImage(wr, img, filepath.Ext(dst))
	}); err != nil {
		return fmt.Errorf("datasets: writing %s: %w", dst, err)
	}
	rec.Image = Image{Path: dst}
	return nil
}
