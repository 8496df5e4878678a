package datasets

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Report says what a conversion did.
type Report struct {
	Records int     // records written
	Objects int     // objects in them
	Bad     []error // records skipped: *RecordError from the reader, Map or the writer
	Dropped Drops   // attributes the target format cannot hold, counted
	Classes int     // classes of the data set
}

// ConvertOptions configure Convert.
type ConvertOptions struct {
	// Map, if set, changes each record before it is written (resize it,
	// reassign its split); seq is the record's position in the reader,
	// bad records counted. An error skips the record, as a bad record.
	Map func(seq int, rec *Record) (*Record, error)
	// Progress, if set, is called after each record with the number read.
	Progress func(n int)
}

// Convert copies every record of r to w and closes w. A bad record (a
// *RecordError from r, w or Map) is reported in the Report's Bad list and
// skipped; any other error stops the conversion. It returns when ctx is
// cancelled, with ctx's error.
func Convert(ctx context.Context, r Reader, w Writer, opt ConvertOptions) (*Report, error) {
	rep := &Report{Classes: len(r.Classes())}
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			w.Close()
			return rep, err
		}
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		n++
		if opt.Progress != nil {
			opt.Progress(n)
		}
		if err == nil && opt.Map != nil {
			rec, err = opt.Map(n-1, rec)
		}
		if err == nil {
			err = w.Write(rec)
		}
		var re *RecordError
		if errors.As(err, &re) {
			rep.Bad = append(rep.Bad, err)
			continue
		}
		if err != nil {
			w.Close()
			return rep, err
		}
		rep.Records++
		rep.Objects += len(rec.Objects)
	}
	if err := w.Close(); err != nil {
		return rep, err
	}
	rep.Dropped = w.Dropped()
	return rep, nil
}

// ClassBox turns a record's whole-image class into an object whose box
// covers the image (and clears Class), so that a classification data set
// (ImageFolder, MNIST, CIFAR) can be written as a detection one. The size
// is read from the image header when the record lacks it.
func ClassBox(rec *Record) (*Record, error) {
	if rec.Class < 0 {
		return rec, nil
	}
	if rec.Width == 0 || rec.Height == 0 {
		w, h, err := rec.Image.Size()
		if err != nil {
			return nil, &RecordError{Where: rec.Source, Err: err}
		}
		rec.Width, rec.Height = w, h
	}
	rec.Objects = append(rec.Objects, Object{Class: rec.Class, Box: Box{X2: float64(rec.Width), Y2: float64(rec.Height)}})
	rec.Class = -1
	return rec, nil
}

// Records is an in-memory data set: a Dataset over a slice of records
// (whose images stay where they are: files are not read until used).
type Records []*Record

// Len returns the number of records.
func (rs Records) Len() int { return len(rs) }

// Record returns record i.
func (rs Records) Record(i int) (*Record, error) {
	if i < 0 || i >= len(rs) {
		return nil, fmt.Errorf("datasets: record %d of %d", i, len(rs))
	}
	return rs[i], nil
}

// ReadAll reads every record of r into memory, with the bad records'
// errors. Image files are not read (their paths are kept); pixel images
// (MNIST, CIFAR) are held.
func ReadAll(r Reader) (Records, []error, error) {
	var rs Records
	var bad []error
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return rs, bad, nil
		}
		var re *RecordError
		if errors.As(err, &re) {
			bad = append(bad, err)
			continue
		}
		if err != nil {
			return rs, bad, err
		}
		rs = append(rs, rec)
	}
}
