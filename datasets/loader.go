package datasets

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"iter"
	"math/rand/v2"
	"runtime"
	"sync"

	"govision.dev/vision/imageio"
	"govision.dev/vision/tensor"
)

// Dataset is a data set with random access, for the Loader: Records (in
// memory) and Shards (through their index) are Datasets.
type Dataset interface {
	Len() int
	Record(i int) (*Record, error)
}

// Loader reads a Dataset in batches, as torch's DataLoader does: the
// records of a batch are read, decoded and transformed by goroutine
// workers, stacked into one tensor, and handed out in order while the next
// batches are prepared.
//
// Memory is bounded: at most Workers+Prefetch batches exist at once (being
// made or waiting), whatever the consumer's speed. Randomness is
// reproducible: sample i of epoch e is transformed with a generator seeded
// from (Seed, e, i), so the output does not depend on the number of
// workers or their timing; the shuffle order comes from (Seed, e).
type Loader struct {
	Data      Dataset
	BatchSize int  // records per batch; 0 means 1
	Shuffle   bool // a new random order each epoch
	DropLast  bool // drop a last, smaller batch
	Seed      uint64
	Workers   int // goroutines making batches; 0 means GOMAXPROCS
	Prefetch  int // batches made ahead of the consumer; 0 means 2
	// Transform is applied to each record (a copy: the Dataset's records
	// are not changed). The images of a batch must come out the same size.
	Transform Transform
	// Mean and Std normalise the tensor per channel, (v/255 − Mean)/Std;
	// a zero Std means no normalisation (values in [0, 1]).
	Mean, Std [3]float32
	// WorkerInit, if set, is called by each worker before its first batch
	// of an epoch with its own seed (derived from Seed, the epoch and the
	// worker number), like torch's worker_init_fn.
	WorkerInit func(worker int, seed uint64)
}

// Batch is a batch of records.
type Batch struct {
	Index int // the batch's number in its epoch
	// Images is [N, 3, H, W], from the tensor pool: Release it (or call
	// Batch.Release) when done.
	Images *tensor.Tensor
	// Records hold the transformed annotations (Class, Objects,
	// Segmentation) of each image; their Image is cleared.
	Records []*Record
	// Indices are the records' positions in the Dataset.
	Indices []int
	// Skipped are the bad records left out of the batch.
	Skipped []error
}

// Release gives the batch's tensor back to the pool.
func (b *Batch) Release() {
	b.Images.Release()
	b.Images = nil
}

// splitmix64 is a mixing function for deriving seeds (Steele et al. 2014).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// SampleRNG returns the generator the Loader gives sample i of epoch epoch.
func SampleRNG(seed uint64, epoch, i int) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed^splitmix64(uint64(epoch))), splitmix64(uint64(i))))
}

// WorkerSeed returns the seed WorkerInit is given.
func WorkerSeed(seed uint64, epoch, worker int) uint64 {
	return splitmix64(splitmix64(seed^splitmix64(uint64(epoch))) + uint64(worker) + 1)
}

// Batches returns the batches of one epoch, in order. The iteration stops
// at the first error other than a bad record (which is skipped and listed
// in Batch.Skipped), when ctx is cancelled, or when the loop breaks; the
// workers are stopped in every case.
func (l *Loader) Batches(ctx context.Context, epoch int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		n := l.Data.Len()
		bs := max(l.BatchSize, 1)
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		if l.Shuffle {
			rand.New(rand.NewPCG(splitmix64(l.Seed), splitmix64(uint64(epoch)+1))).Shuffle(n, func(i, j int) {
				order[i], order[j] = order[j], order[i]
			})
		}
		nb := (n + bs - 1) / bs
		if l.DropLast {
			nb = n / bs
		}
		if nb == 0 {
			return
		}
		workers := l.Workers
		if workers <= 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		workers = min(workers, nb)
		prefetch := l.Prefetch
		if prefetch <= 0 {
			prefetch = 2
		}
		ctx, cancel := context.WithCancel(ctx)
		type result struct {
			b   *Batch
			err error
		}
		slots := make([]chan result, nb)
		for i := range slots {
			slots[i] = make(chan result, 1)
		}
		tokens := make(chan struct{}, workers+prefetch)
		jobs := make(chan int)
		var wg sync.WaitGroup
		go func() { // dispatcher: a batch starts only when a token is free
			defer close(jobs)
			for b := range nb {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return
				}
				select {
				case jobs <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
		for w := range workers {
			wg.Go(func() {
				if l.WorkerInit != nil {
					l.WorkerInit(w, WorkerSeed(l.Seed, epoch, w))
				}
				for b := range jobs {
					idx := order[b*bs : min((b+1)*bs, n)]
					batch, err := l.makeBatch(epoch, b, idx)
					slots[b] <- result{batch, err}
				}
			})
		}
		defer func() {
			cancel()
			wg.Wait()
			for _, s := range slots { // release what was made and not taken
				select {
				case r := <-s:
					if r.b != nil {
						r.b.Release()
					}
				default:
				}
			}
		}()
		for b := range nb {
			var r result
			select {
			case r = <-slots[b]:
			case <-ctx.Done():
				yield(nil, ctx.Err())
				return
			}
			<-tokens
			if !yield(r.b, r.err) || r.err != nil {
				return
			}
		}
	}
}

// makeBatch reads, transforms and stacks the records idx.
func (l *Loader) makeBatch(epoch, number int, idx []int) (*Batch, error) {
	b := &Batch{Index: number}
	var imgs []image.Image
	for _, i := range idx {
		rec, err := l.Data.Record(i)
		if err == nil {
			rec = rec.Clone()
			if l.Transform != nil {
				err = l.Transform.Apply(rec, SampleRNG(l.Seed, epoch, i))
			}
		}
		var img image.Image
		if err == nil {
			img, err = rec.Image.Decode(defaultDecoder)
			if err != nil {
				err = &RecordError{Where: rec.Source, Err: err}
			}
		}
		var re *RecordError
		if errors.As(err, &re) {
			b.Skipped = append(b.Skipped, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(imgs) > 0 && img.Bounds().Size() != imgs[0].Bounds().Size() {
			return nil, fmt.Errorf("%w: datasets: batch %d: record %d is %v, record %d %v; resize them to one size",
				tensor.ErrShape, number, i, img.Bounds().Size(), b.Indices[0], imgs[0].Bounds().Size())
		}
		rec.Image = Image{}
		imgs = append(imgs, img)
		b.Records = append(b.Records, rec)
		b.Indices = append(b.Indices, i)
	}
	if len(imgs) == 0 {
		b.Images = tensor.New(0, 3, 0, 0)
		return b, nil
	}
	mean, std := l.Mean, l.Std
	if std == ([3]float32{}) {
		mean, std = imageio.NoMean, imageio.NoStd
	}
	sz := imgs[0].Bounds().Size()
	b.Images = tensor.Get(len(imgs), 3, sz.Y, sz.X)
	fillBatch(b.Images.Data(), imgs, mean, std)
	return b, nil
}

// fillBatch writes imgs (of one size) into dst as [N, 3, H, W] planes of
// (v/255 − mean)/std, as imageio.ToBatch does, with fast paths for the
// images the readers and transforms make.
func fillBatch(dst []float32, imgs []image.Image, mean, std [3]float32) {
	var lut [3][256]float32
	for c := range 3 {
		for v := range 256 {
			lut[c][v] = (float32(v)/255 - mean[c]) / std[c]
		}
	}
	sz := imgs[0].Bounds().Size()
	w, h := sz.X, sz.Y
	plane := w * h
	for k, img := range imgs {
		d := dst[k*3*plane : (k+1)*3*plane]
		r, g, bl := d[:plane], d[plane:2*plane], d[2*plane:]
		switch m := img.(type) {
		case *image.NRGBA:
			for y := range h {
				row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
				for x := range w {
					i := y*w + x
					r[i], g[i], bl[i] = lut[0][row[4*x]], lut[1][row[4*x+1]], lut[2][row[4*x+2]]
				}
			}
		case *image.Gray:
			for y := range h {
				row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
				for x := range w {
					i := y*w + x
					r[i], g[i], bl[i] = lut[0][row[x]], lut[1][row[x]], lut[2][row[x]]
				}
			}
		default:
			b := img.Bounds()
			for y := range h {
				for x := range w {
					c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
					i := y*w + x
					r[i], g[i], bl[i] = lut[0][c.R], lut[1][c.G], lut[2][c.B]
				}
			}
		}
	}
}
