package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"unsafe"

	"govision.dev/vision/internal/filemap"
	"govision.dev/vision/tensor"
)

// ErrFormat is the category of every error about a file's content: an
// unknown, truncated, corrupt or refused weight file. Test with errors.Is.
var ErrFormat = errors.New("weights: bad weight file")

// FormatError describes what is wrong with a weight file, and where.
// It wraps ErrFormat (and Err, when a lower layer found the fault).
type FormatError struct {
	File   string // the path as given to Load
	Tensor string // the tensor or entry concerned; "" for the file as a whole
	Msg    string // what is wrong, lower-case
	Err    error  // the underlying error, if any
}

// Error reads "weights: FILE: tensor "NAME": MSG".
func (e *FormatError) Error() string {
	s := "weights: " + e.File + ": "
	if e.Tensor != "" {
		s += "tensor " + strconv.Quote(e.Tensor) + ": "
	}
	return s + e.Msg
}

// Is reports whether target is ErrFormat.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

// Unwrap returns the underlying error, if any.
func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(file, tensorName, format string, args ...any) *FormatError {
	e := &FormatError{File: file, Tensor: tensorName, Msg: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if err, ok := a.(error); ok {
			e.Err = err
			break
		}
	}
	return e
}

// Load reads every tensor of a PyTorch checkpoint, a safetensors file or
// a TensorFlow.js weights manifest (see LoadTFJS), telling the format by
// the content. The package documentation lists what
// is accepted and how values are converted to float32. An error about the
// file's content wraps ErrFormat; an error opening or reading the file is
// the os error, prefixed "weights: ".
func Load(path string) (map[string]*tensor.Tensor, error) {
	return readFile(path, false)
}

// readFile is Load, and with mapZip Map: a PyTorch checkpoint's storages
// are then read from the file mapped into memory.
func readFile(path string, mapZip bool) (map[string]*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, formatErr(path, "", "not a regular file")
	}
	var head [512]byte
	n, _ := f.ReadAt(head[:], 0)
	if isManifest(head[:min(n, 64)]) {
		return LoadTFJS(path)
	}
	var mapped []byte
	if mapZip && sniff(head[:n]) == kindZip {
		mapped, _ = filemap.Map(f, st.Size()) // nil where it cannot: the storages are read instead
	}
	return loadMapped(path, f, st.Size(), mapped)
}

// load reads the weight file r of the given size; name is used in errors.
func load(name string, r io.ReaderAt, size int64) (map[string]*tensor.Tensor, error) {
	return loadMapped(name, r, size, nil)
}

// loadMapped is load; mapped, if not nil, is the same file in memory
// (Map), from which a PyTorch checkpoint's storages are taken in place.
func loadMapped(name string, r io.ReaderAt, size int64, mapped []byte) (map[string]*tensor.Tensor, error) {
	var head [512]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return nil, formatErr(name, "", "reading the start of the file: %v", err)
	}
	switch kind := sniff(head[:n]); kind {
	case kindZip:
		return loadTorch(name, r, size, mapped)
	case kindSafetensors:
		return loadSafetensors(name, r, size)
	case kindLegacy:
		return nil, formatErr(name, "", "the legacy torch.save format (PyTorch before 1.6, or _use_new_zipfile_serialization=False) is not supported: load it in Python and save it again with torch.save(state_dict, path)")
	default:
		return nil, formatErr(name, "", "unknown format: neither a PyTorch zip checkpoint nor safetensors")
	}
}

type fileKind int

const (
	kindUnknown fileKind = iota
	kindZip
	kindSafetensors
	kindLegacy
)

// sniff tells the format from the first bytes of a file.
func sniff(head []byte) fileKind {
	switch {
	case len(head) >= 9 && head[8] == '{':
		// Checked first: a zip's byte 8 is its first record's compression
		// method, never '{'.
		return kindSafetensors
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return kindZip
	case len(head) >= 2 && head[0] == 0x80 && head[1] <= 5:
		// A bare pickle: the legacy format starts with the pickled magic number.
		return kindLegacy
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		// The oldest torch.save format was a tar archive.
		return kindLegacy
	}
	return kindUnknown
}

// dtype is a stored element type and its conversion to float32.
type dtype struct {
	name   string // as safetensors spells it
	size   int    // bytes per element
	decode func(dst []float32, src []byte, order binary.ByteOrder)
}

var (
	dtF32 = dtype{"F32", 4, func(dst []float32, src []byte, o binary.ByteOrder) {
		for i := range dst {
			dst[i] = math.Float32frombits(o.Uint32(src[4*i:]))
		}
	}}
	dtF16 = dtype{"F16", 2, func(dst []float32, src []byte, o binary.ByteOrder) {
		for i := range dst {
			dst[i] = halfToFloat(o.Uint16(src[2*i:]))
		}
	}}
	dtBF16 = dtype{"BF16", 2, func(dst []float32, src []byte, o binary.ByteOrder) {
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(o.Uint16(src[2*i:])) << 16)
		}
	}}
	dtF64 = dtype{"F64", 8, func(dst []float32, src []byte, o binary.ByteOrder) {
		for i := range dst {
			dst[i] = float32(math.Float64frombits(o.Uint64(src[8*i:])))
		}
	}}
	dtI64 = dtype{"I64", 8, func(dst []float32, src []byte, o binary.ByteOrder) {
		for i := range dst {
			dst[i] = float32(int64(o.Uint64(src[8*i:])))
		}
	}}
	dtI32 = dtype{"I32", 4, func(dst []float32, src []byte, o binary.ByteOrder) {
		for i := range dst {
			dst[i] = float32(int32(o.Uint32(src[4*i:])))
		}
	}}
	dtI16 = dtype{"I16", 2, func(dst []float32, src []byte, o binary.ByteOrder) {
		for i := range dst {
			dst[i] = float32(int16(o.Uint16(src[2*i:])))
		}
	}}
	dtI8 = dtype{"I8", 1, func(dst []float32, src []byte, _ binary.ByteOrder) {
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	}}
	dtU16 = dtype{"U16", 2, func(dst []float32, src []byte, o binary.ByteOrder) {
		for i := range dst {
			dst[i] = float32(o.Uint16(src[2*i:]))
		}
	}}
	dtU8 = dtype{"U8", 1, func(dst []float32, src []byte, _ binary.ByteOrder) {
		for i := range dst {
			dst[i] = float32(src[i])
		}
	}}
	dtBool = dtype{"BOOL", 1, func(dst []float32, src []byte, _ binary.ByteOrder) {
		for i := range dst {
			dst[i] = 0
			if src[i] != 0 {
				dst[i] = 1
			}
		}
	}}
)

// halfToFloat converts IEEE 754 binary16 bits to float32, exactly
// (subnormals, infinities and NaN payloads included).
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	case frac == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal: frac × 2^-24, exact in float32.
	f := float32(frac) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// nativeLittle reports whether this machine stores values little-endian,
// as safetensors and torch.save (almost always) do.
var nativeLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// chunkBytes is the size of the buffer values are read through.
const chunkBytes = 256 << 10

// readValues fills dst with len(dst) values of type dt read from r,
// converting a chunk at a time; buf is scratch space of at least
// chunkBytes (it may be nil).
func readValues(r io.Reader, dst []float32, dt dtype, order binary.ByteOrder, buf []byte) error {
	if dt.name == dtF32.name && order == binary.LittleEndian && nativeLittle && len(dst) > 0 {
		// The stored bytes are already the values: read them in place.
		b := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst))
		_, err := io.ReadFull(r, b)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if len(buf) < chunkBytes {
		buf = make([]byte, chunkBytes)
	}
	per := chunkBytes / 8 // values per chunk; 8 is the largest element size
	for len(dst) > 0 {
		n := min(per, len(dst))
		b := buf[:n*dt.size]
		if _, err := io.ReadFull(r, b); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		dt.decode(dst[:n], b, order)
		dst = dst[n:]
	}
	return nil
}

// maxInt is the largest int.
const maxInt = int(^uint(0) >> 1)

// numel returns the product of shape, or ok == false if a dimension is
// negative or the product exceeds limit.
func numel(shape []int64, limit int64) (n int64, ok bool) {
	n = 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			n = 0
			continue
		}
		if n > limit/d {
			// Still check the remaining dimensions for negatives and zeros.
			for _, e := range shape {
				if e < 0 {
					return 0, false
				}
				if e == 0 {
					return 0, true
				}
			}
			return 0, false
		}
		n *= d
	}
	return n, n <= limit
}

func intsOf(shape []int64) []int {
	s := make([]int, len(shape))
	for i, d := range shape {
		s[i] = int(d)
	}
	return s
}
