package tensor

import (
	"math/bits"
	"sync"
)

// Scratch memory. Inference allocates its activations with Get and hands
// them back with Release once nothing reads them, so that a model's forward
// pass reuses the same buffers call after call instead of allocating (and
// garbage-collecting) megabytes per image.
//
// Buffers are grouped in size classes four to a power of two (sizes
// 2^e·{4,5,6,7}/4), so a buffer is at most 25% larger than asked for.

// minClassLen is the smallest pooled buffer; smaller tensors are allocated
// normally (a pool round trip costs more than they do).
const minClassLen = 1 << 10

var classes [64 * 4]sync.Pool

// class returns the size class of a buffer of n floats and its capacity.
func class(n int) (idx, size int) {
	e := bits.Len(uint(n-1)) - 3 // n-1 < 8·2^e
	if e < 0 {
		e = 0
	}
	q := (n - 1) >> e // in [4, 8) for n > 8
	if q < 4 {
		q = 4
	}
	return e*4 + q - 4, (q + 1) << e
}

// Get returns a tensor of the given shape whose values are unspecified (a
// recycled buffer): the caller must overwrite every value. Release gives
// its buffer back. It panics on a negative dimension, like New.
func Get(shape ...int) *Tensor {
	n, err := numel(shape)
	if err != nil {
		panic(err)
	}
	if n < minClassLen {
		return New(shape...)
	}
	idx, size := class(n)
	var buf *[]float32
	if b, ok := classes[idx].Get().(*[]float32); ok {
		buf = b
	} else {
		s := make([]float32, size)
		buf = &s
	}
	return &Tensor{shape: append([]int(nil), shape...), data: (*buf)[:n], buf: buf}
}

// Release gives t's buffer back to the pool if t came from Get and is not a
// view (Reshape and Slice views share their origin's buffer and release
// nothing). t and every view of it must not be used afterwards. Release of
// nil, or of a tensor not from Get, does nothing.
func (t *Tensor) Release() {
	if t == nil || t.buf == nil || t.view {
		return
	}
	buf := t.buf
	t.buf, t.data, t.shape = nil, nil, nil
	idx, _ := class(cap(*buf))
	classes[idx].Put(buf)
}

// Shares reports whether t and o are views of the same data (so releasing
// one would pull the other's data away).
func (t *Tensor) Shares(o *Tensor) bool {
	if t == nil || o == nil || cap(t.data) == 0 || cap(o.data) == 0 {
		return false
	}
	if t.buf != nil && t.buf == o.buf {
		return true
	}
	// Not pooled: compare the ends of the backing arrays.
	return &t.data[:cap(t.data)][cap(t.data)-1] == &o.data[:cap(o.data)][cap(o.data)-1]
}
