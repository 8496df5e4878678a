package datasets

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"govision.dev/vision/tensor"
)

// countingData is a Dataset of n 8×6 grey images (image i filled with i),
// counting reads; record bad (if ≥ 0) is a bad record.
type countingData struct {
	n, bad int
	reads  atomic.Int64
	delay  time.Duration
}

func (d *countingData) Len() int { return d.n }

func (d *countingData) Record(i int) (*Record, error) {
	d.reads.Add(1)
	time.Sleep(d.delay)
	if i == d.bad {
		return nil, badRecord(fmt.Sprint("record ", i), "broken")
	}
	img := image.NewGray(image.Rect(0, 0, 8, 6))
	for k := range img.Pix {
		img.Pix[k] = uint8(i)
	}
	return &Record{ID: fmt.Sprint(i), Width: 8, Height: 6, Class: i % 10, Image: Image{Pixels: img},
		Objects: []Object{{Class: 1, Box: Box{1, 1, 4, 5}}}}, nil
}

func collect(t *testing.T, l *Loader, epoch int) ([]int, [][]float32) {
	t.Helper()
	var idx []int
	var data [][]float32
	for b, err := range l.Batches(context.Background(), epoch) {
		if err != nil {
			t.Fatal(err)
		}
		idx = append(idx, b.Indices...)
		data = append(data, slices.Clone(b.Images.Data()))
		if len(b.Records) != len(b.Indices) || b.Images.Dim(0) != len(b.Indices) {
			t.Fatalf("batch %d: %d records, %d indices, tensor %v", b.Index, len(b.Records), len(b.Indices), b.Images.Shape())
		}
		b.Release()
	}
	return idx, data
}

func TestLoaderOrderAndDeterminism(t *testing.T) {
	d := &countingData{n: 23, bad: -1}
	tr := Compose{HFlip{P: 0.5}, RandomScaleTranslate{Scale: 0.3, Translate: 0.2}}
	base := Loader{Data: d, BatchSize: 5, Shuffle: true, Seed: 9, Transform: tr}
	var first [][]float32
	var firstIdx []int
	for _, workers := range []int{1, 2, 5} {
		l := base
		l.Workers = workers
		idx, data := collect(t, &l, 3)
		sorted := slices.Sorted(slices.Values(idx))
		for i, v := range sorted {
			if v != i {
				t.Fatalf("workers %d: indices %v are not a permutation of 0..22", workers, idx)
			}
		}
		if first == nil {
			first, firstIdx = data, idx
			continue
		}
		if !slices.Equal(idx, firstIdx) || !slices.EqualFunc(data, first, slices.Equal) {
			t.Errorf("workers %d: batches differ from 1 worker's", workers)
		}
	}
	l := base
	idx2, _ := collect(t, &l, 4)
	if slices.Equal(idx2, firstIdx) {
		t.Error("epoch 4 has epoch 3's order")
	}
	l.Shuffle, l.DropLast = false, true
	idx3, _ := collect(t, &l, 0)
	if len(idx3) != 20 || idx3[0] != 0 || idx3[19] != 19 {
		t.Errorf("DropLast, no shuffle: %v", idx3)
	}
}

func TestLoaderNormalises(t *testing.T) {
	d := &countingData{n: 2, bad: -1}
	l := Loader{Data: d, BatchSize: 2, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.5, 1}}
	_, data := collect(t, &l, 0)
	// Image 1 is all 1/255: (1/255 − 0.5)/std per channel.
	plane := 8 * 6
	for c, std := range []float32{0.25, 0.5, 1} {
		got := data[0][3*plane+c*plane]
		want := (float32(1)/255 - 0.5) / std
		if got != want {
			t.Errorf("channel %d: %g, want %g", c, got, want)
		}
	}
}

func TestLoaderBoundedMemory(t *testing.T) {
	d := &countingData{n: 200, bad: -1}
	l := Loader{Data: d, BatchSize: 4, Workers: 3, Prefetch: 2}
	consumed := 0
	for b, err := range l.Batches(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // a slow consumer
		consumed++
		// Batches read: those consumed, plus at most Workers+Prefetch.
		if ahead := int(d.reads.Load())/4 - consumed; ahead > 3+2 {
			t.Fatalf("after %d batches, %d more read", consumed, ahead)
		}
		b.Release()
	}
	if consumed != 50 {
		t.Errorf("%d batches, want 50", consumed)
	}
}

func TestLoaderSkipsBadRecordsAndStops(t *testing.T) {
	d := &countingData{n: 40, bad: 6, delay: time.Millisecond}
	var inits sync.Map
	l := Loader{Data: d, BatchSize: 4, Workers: 2, WorkerInit: func(w int, seed uint64) { inits.Store(w, seed) }}
	before := runtime.NumGoroutine()
	n := 0
	for b, err := range l.Batches(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		if b.Index == 1 {
			var re *RecordError
			if len(b.Skipped) != 1 || !errors.As(b.Skipped[0], &re) || len(b.Indices) != 3 {
				t.Errorf("batch 1: skipped %v, indices %v", b.Skipped, b.Indices)
			}
		}
		b.Release()
		if n++; n == 3 {
			break
		}
	}
	s0, _ := inits.Load(0)
	s1, _ := inits.Load(1)
	if s0 == nil || s1 == nil || s0 == s1 {
		t.Errorf("worker seeds %v, %v: want one each, different", s0, s1)
	}
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines after breaking out, %d before", g, before)
	}
	if r := d.reads.Load(); r >= 40 {
		t.Errorf("read %d records after stopping at 3 batches", r)
	}
}

func TestLoaderSizeMismatch(t *testing.T) {
	recs := Records{
		{ID: "a", Class: 0, Image: Image{Pixels: image.NewGray(image.Rect(0, 0, 4, 4))}},
		{ID: "b", Class: 0, Image: Image{Pixels: image.NewGray(image.Rect(0, 0, 5, 4))}},
	}
	l := Loader{Data: recs, BatchSize: 2}
	for _, err := range l.Batches(context.Background(), 0) {
		if err == nil || !errors.Is(err, tensor.ErrShape) {
			t.Errorf("mismatched sizes: %v", err)
		}
	}
	l.Transform = Resize{Width: 3, Height: 3}
	for b, err := range l.Batches(context.Background(), 0) {
		if err != nil || b.Images.Dim(3) != 3 {
			t.Errorf("resized: %v", err)
		}
	}
}
