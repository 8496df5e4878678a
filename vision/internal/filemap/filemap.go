// Package filemap maps weight files into memory, so that a loaded
// model's tensors can be the file's bytes rather than a copy of them, and
// gives the pages of such tensors back to the operating system once a
// layer has made what it needs from them (packed convolution weights),
// so that a model does not hold its weights twice.
//
// The pages of a mapping are the kernel's page cache: they are read from
// the file when first touched and can be dropped and read again at any
// time, so a dropped page costs a re-read, never its values. A mapping is
// private: writes to it (an optimizer stepping a tensor in place) copy the
// touched pages into this process's memory and never reach the file, and
// Release leaves such pages alone. A mapping lives as long as the process,
// since tensors do not say when the last one over it is gone; and the file
// must not be changed in place while mapped (replacing it by a rename, as
// every writer in govision does, is safe).
package filemap

import (
	"sync"
	"unsafe"
)

// mappings are the address ranges Map has returned, so that Release can
// tell a mapped slice from one on the heap.
var (
	mu       sync.RWMutex
	mappings []span
)

type span struct{ start, end uintptr }

func register(b []byte) {
	if len(b) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	mu.Lock()
	mappings = append(mappings, span{start, start + uintptr(len(b))})
	mu.Unlock()
}

// mapped reports whether [start, end) lies inside one mapping.
func mapped(start, end uintptr) bool {
	mu.RLock()
	defer mu.RUnlock()
	for _, s := range mappings {
		if s.start <= start && end <= s.end {
			return true
		}
	}
	return false
}

// Contains reports whether p lies in a mapping made by Map.
func Contains(p []float32) bool {
	if len(p) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return mapped(start, start+uintptr(len(p))*4)
}

// Release hands the whole memory pages inside p back to the operating
// system if p lies in a mapping made by Map (it does nothing otherwise, or
// where the system cannot): they leave the process's resident memory and
// are read from the file again if p is used. Pages written since they were
// mapped keep their values. It is for data a layer has copied into its
// own form and will not read again on its hot path.
func Release(p []float32) {
	if len(p) == 0 {
		return
	}
	if !Contains(p) {
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(p))
	start := uintptr(base)
	end := start + uintptr(len(p))*4
	page := uintptr(pageSize)
	lo, hi := (start+page-1)&^(page-1), end&^(page-1)
	if lo >= hi {
		return
	}
	pageOut(unsafe.Slice((*byte)(unsafe.Add(base, lo-start)), hi-lo))
}

// Floats returns the n little-endian float32 values at b[off:] as a slice
// over b, or false when they are not 4-byte aligned in memory or the
// machine is big-endian (then the caller converts a copy).
func Floats(b []byte, off, n int) ([]float32, bool) {
	if n == 0 || off < 0 || off+4*n > len(b) || !littleEndian {
		return nil, false
	}
	p := unsafe.Pointer(&b[off])
	if uintptr(p)%4 != 0 {
		return nil, false
	}
	return unsafe.Slice((*float32)(p), n), true
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
