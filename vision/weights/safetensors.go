package weights

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"govision.dev/vision/tensor"
)

// maxHeader bounds a safetensors header (the format's own reader allows
// 100 MB too).
const maxHeader = 100 << 20

// safetensorsDtypes are the dtypes Load reads, by their safetensors names.
var safetensorsDtypes = map[string]dtype{
	"F32": dtF32, "F16": dtF16, "BF16": dtBF16, "F64": dtF64,
	"I64": dtI64, "I32": dtI32, "I16": dtI16, "I8": dtI8, "U16": dtU16, "U8": dtU8, "BOOL": dtBool,
}

// tensorInfo is a header entry.
type tensorInfo struct {
	Dtype       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`

	name  string
	dt    dtype
	numel int64
}

// loadSafetensors reads a safetensors file: r holds size bytes.
func loadSafetensors(name string, r io.ReaderAt, size int64) (map[string]*tensor.Tensor, error) {
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, formatErr(name, "", "safetensors header length: %v", err)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > maxHeader {
		return nil, formatErr(name, "", "safetensors header claims %d bytes, more than the %d allowed", hlen, maxHeader)
	}
	if int64(hlen) > size-8 {
		return nil, formatErr(name, "", "safetensors header claims %d bytes, the file has %d after the length", hlen, size-8)
	}
	header := make([]byte, hlen)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, formatErr(name, "", "reading the safetensors header: %v", err)
	}
	infos, meta, err := parseHeader(name, header)
	if err != nil {
		return nil, err
	}
	quant, err := parseQuantization(name, meta, infos)
	if err != nil {
		return nil, err
	}
	dataStart := 8 + int64(hlen)
	dataLen := size - dataStart

	// Check every tensor's extent, then that no two overlap.
	for _, ti := range infos {
		if len(ti.DataOffsets) != 2 {
			return nil, formatErr(name, ti.name, "data_offsets has %d values, want 2", len(ti.DataOffsets))
		}
		begin, end := ti.DataOffsets[0], ti.DataOffsets[1]
		if begin < 0 || end < begin || end > dataLen {
			return nil, formatErr(name, ti.name, "data_offsets [%d, %d] outside the %d data bytes", begin, end, dataLen)
		}
		n, ok := numel(ti.Shape, min(dataLen, int64(maxInt)))
		if !ok {
			return nil, formatErr(name, ti.name, "shape %v is negative or larger than the file", ti.Shape)
		}
		if n*int64(ti.dt.size) != end-begin {
			return nil, formatErr(name, ti.name, "shape %v of %s needs %d bytes, data_offsets [%d, %d] hold %d",
				ti.Shape, ti.Dtype, n*int64(ti.dt.size), begin, end, end-begin)
		}
		ti.numel = n
	}
	byStart := slices.Clone(infos)
	sort.SliceStable(byStart, func(i, j int) bool { return byStart[i].DataOffsets[0] < byStart[j].DataOffsets[0] })
	var prev *tensorInfo
	for _, ti := range byStart {
		if ti.numel == 0 {
			continue
		}
		if prev != nil && ti.DataOffsets[0] < prev.DataOffsets[1] {
			return nil, formatErr(name, ti.name, "data_offsets [%d, %d] overlap those of tensor %q [%d, %d]",
				ti.DataOffsets[0], ti.DataOffsets[1], prev.name, prev.DataOffsets[0], prev.DataOffsets[1])
		}
		prev = ti
	}

	out := make(map[string]*tensor.Tensor, len(infos))
	buf := make([]byte, chunkBytes)
	for _, ti := range byStart { // in file order, for sequential reads
		data := make([]float32, ti.numel)
		sr := io.NewSectionReader(r, dataStart+ti.DataOffsets[0], ti.DataOffsets[1]-ti.DataOffsets[0])
		if err := readValues(sr, data, ti.dt, binary.LittleEndian, buf); err != nil {
			return nil, formatErr(name, ti.name, "reading %d bytes at offset %d: %v", ti.DataOffsets[1]-ti.DataOffsets[0], dataStart+ti.DataOffsets[0], err)
		}
		if q, ok := quant[ti.name]; ok {
			q.dequantize(data)
		}
		t, err := tensor.FromData(intsOf(ti.Shape), data)
		if err != nil {
			return nil, formatErr(name, ti.name, "%v", err)
		}
		out[ti.name] = t
	}
	return out, nil
}

// parseHeader decodes the JSON header: an object of tensor entries plus an
// optional "__metadata__" object of strings, returned as meta. Names must
// be unique.
func parseHeader(name string, header []byte) (infos []*tensorInfo, meta map[string]string, err error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	bad := func(err error) error {
		return formatErr(name, "", "safetensors header is not a JSON object of tensors: %v", err)
	}
	if tok, err := dec.Token(); err != nil {
		return nil, nil, bad(err)
	} else if tok != json.Delim('{') {
		return nil, nil, bad(fmt.Errorf("starts with %v", tok))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, bad(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, bad(fmt.Errorf("key %v", tok))
		}
		if seen[key] {
			return nil, nil, formatErr(name, key, "named twice in the safetensors header")
		}
		seen[key] = true
		if key == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, formatErr(name, "", "safetensors __metadata__ is not an object of strings: %v", err)
			}
			continue
		}
		ti := &tensorInfo{name: key}
		if err := dec.Decode(ti); err != nil {
			return nil, nil, formatErr(name, key, "bad safetensors header entry: %v", err)
		}
		dt, ok := safetensorsDtypes[ti.Dtype]
		if !ok {
			return nil, nil, formatErr(name, key, "dtype %q is not supported (want F32, F16, BF16, F64 or an integer type)", ti.Dtype)
		}
		ti.dt = dt
		infos = append(infos, ti)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, bad(err)
	}
	// Only padding may follow.
	rest := header[dec.InputOffset():]
	if len(bytes.TrimRight(rest, " \t\r\n\x00")) != 0 {
		return nil, nil, formatErr(name, "", "safetensors header has %d bytes after its JSON object", len(rest))
	}
	return infos, meta, nil
}

// Save writes tensors to path as safetensors: dtype F32, names in sorted
// order, data in the same order, the header padded with spaces so that the
// data starts 8-byte aligned, no __metadata__. The file is written to a
// temporary file in the same folder, synced and renamed over path, so path
// holds either its old content or the whole new file; on error the
// temporary file is removed. Names must be non-empty and must not be
// "__metadata__", and must be valid UTF-8 (JSON strings); a nil tensor is
// an error.
func Save(path string, tensors map[string]*tensor.Tensor) error {
	return SaveQuantized(path, tensors, nil)
}

// SaveQuantized writes tensors as Save does, except the ones quant names:
// each of those is stored as its integer codes, U8 or U16, with its min
// and scale in __metadata__ (see Quantization: the key
// "quantization/NAME"), so that Load gives back exactly its values at a
// quarter (or half) of their float32 size. The data holds the F32 tensors
// first, then the U16 ones, then the U8 ones, each group in name order, so
// every tensor starts aligned to its element size. A value that is not
// min + scale·q for an integer code q (a tensor changed since it was
// loaded, or a quantization that is not its own) is an error naming the
// tensor, as is a quantization of a tensor tensors does not hold.
func SaveQuantized(path string, tensors map[string]*tensor.Tensor, quant map[string]Quantization) (err error) {
	entries := make([]savedTensor, 0, len(tensors))
	for k, t := range tensors {
		if k == "" || k == "__metadata__" || !utf8.ValidString(k) {
			return fmt.Errorf("weights: save %s: %q cannot name a tensor", path, k)
		}
		if t == nil {
			return fmt.Errorf("weights: save %s: tensor %q is nil", path, k)
		}
		e := savedTensor{name: k, t: t, dt: dtF32}
		if q, ok := quant[k]; ok {
			if e.codes, err = q.codes(t); err != nil {
				return fmt.Errorf("weights: save %s: tensor %q: %w", path, k, err)
			}
			e.dt, e.quant = quantDtypes[q.Dtype].dt, &q
		}
		entries = append(entries, e)
	}
	for k := range quant {
		if tensors[k] == nil {
			return fmt.Errorf("weights: save %s: a quantization for tensor %q, which is not saved", path, k)
		}
	}
	// In data order: by decreasing element size, then by name.
	sort.Slice(entries, func(i, j int) bool {
		if a, b := entries[i].dt.size, entries[j].dt.size; a != b {
			return a > b
		}
		return entries[i].name < entries[j].name
	})
	header := safetensorsHeader(entries)

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("weights: save: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("weights: save %s: %w", path, err)
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<20)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(header)))
	w.Write(lenBuf[:])
	w.Write(header)
	buf := make([]byte, chunkBytes)
	for _, e := range entries {
		if e.quant != nil {
			if err := writeCodes(w, e.codes, e.dt.size, buf); err != nil {
				return err
			}
			continue
		}
		data := e.t.Data()
		for len(data) > 0 {
			n := min(len(data), chunkBytes/4)
			for i, v := range data[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := w.Write(buf[:4*n]); err != nil {
				return err
			}
			data = data[n:]
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable; not every system can sync a folder.
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// savedTensor is a tensor as SaveQuantized writes it: F32 values, or
// integer codes of dtype dt (U8, U16) with their quantization.
type savedTensor struct {
	name  string
	t     *tensor.Tensor
	dt    dtype
	quant *Quantization
	codes []uint16
}

// writeCodes writes codes as little-endian integers of size bytes (1 or 2).
func writeCodes(w io.Writer, codes []uint16, size int, buf []byte) error {
	for len(codes) > 0 {
		n := min(len(codes), chunkBytes/2)
		for i, c := range codes[:n] {
			if size == 1 {
				buf[i] = byte(c)
			} else {
				binary.LittleEndian.PutUint16(buf[2*i:], c)
			}
		}
		if _, err := w.Write(buf[:size*n]); err != nil {
			return err
		}
		codes = codes[n:]
	}
	return nil
}

// safetensorsHeader builds the JSON header for the entries, in data
// order: __metadata__ first when a tensor is quantized (its keys sorted),
// then the tensors by name; padded with spaces to a multiple of 8 bytes.
func safetensorsHeader(entries []savedTensor) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	offsets := make(map[string][2]int64, len(entries))
	var off int64
	meta := map[string]string{}
	for _, e := range entries {
		end := off + int64(e.dt.size)*int64(e.t.Len())
		offsets[e.name] = [2]int64{off, end}
		off = end
		if e.quant != nil {
			meta[quantizationKey+e.name] = e.quant.metadata()
		}
	}
	if len(meta) > 0 {
		m, _ := json.Marshal(meta) // strings always marshal; keys sorted
		b.WriteString(`"__metadata__":`)
		b.Write(m)
	}
	byName := slices.Clone(entries)
	slices.SortFunc(byName, func(x, y savedTensor) int { return strings.Compare(x.name, y.name) })
	for _, e := range byName {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(e.name) // a string always marshals
		b.Write(key)
		b.WriteString(`:{"dtype":"` + e.dt.name + `","shape":[`)
		for j, d := range e.t.Shape() {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		o := offsets[e.name]
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, o[0], o[1])
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}
