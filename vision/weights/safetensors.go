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
	"unicode/utf8"

	"govision.dev/vision/tensor"
)

// maxHeader bounds a safetensors header (the format's own reader allows
// 100 MB too).
const maxHeader = 100 << 20

// safetensorsDtypes are the dtypes Load reads, by their safetensors names.
var safetensorsDtypes = map[string]dtype{
	"F32": dtF32, "F16": dtF16, "BF16": dtBF16, "F64": dtF64,
	"I64": dtI64, "I32": dtI32, "I16": dtI16, "I8": dtI8, "U8": dtU8, "BOOL": dtBool,
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
	infos, err := parseHeader(name, header)
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
		t, err := tensor.FromData(intsOf(ti.Shape), data)
		if err != nil {
			return nil, formatErr(name, ti.name, "%v", err)
		}
		out[ti.name] = t
	}
	return out, nil
}

// parseHeader decodes the JSON header: an object of tensor entries plus an
// optional "__metadata__" object of strings. Names must be unique.
func parseHeader(name string, header []byte) ([]*tensorInfo, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	bad := func(err error) error {
		return formatErr(name, "", "safetensors header is not a JSON object of tensors: %v", err)
	}
	if tok, err := dec.Token(); err != nil {
		return nil, bad(err)
	} else if tok != json.Delim('{') {
		return nil, bad(fmt.Errorf("starts with %v", tok))
	}
	var infos []*tensorInfo
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, bad(fmt.Errorf("key %v", tok))
		}
		if seen[key] {
			return nil, formatErr(name, key, "named twice in the safetensors header")
		}
		seen[key] = true
		if key == "__metadata__" {
			var meta map[string]string
			if err := dec.Decode(&meta); err != nil {
				return nil, formatErr(name, "", "safetensors __metadata__ is not an object of strings: %v", err)
			}
			continue
		}
		ti := &tensorInfo{name: key}
		if err := dec.Decode(ti); err != nil {
			return nil, formatErr(name, key, "bad safetensors header entry: %v", err)
		}
		dt, ok := safetensorsDtypes[ti.Dtype]
		if !ok {
			return nil, formatErr(name, key, "dtype %q is not supported (want F32, F16, BF16, F64 or an integer type)", ti.Dtype)
		}
		ti.dt = dt
		infos = append(infos, ti)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, bad(err)
	}
	// Only padding may follow.
	rest := header[dec.InputOffset():]
	if len(bytes.TrimRight(rest, " \t\r\n\x00")) != 0 {
		return nil, formatErr(name, "", "safetensors header has %d bytes after its JSON object", len(rest))
	}
	return infos, nil
}

// Save writes tensors to path as safetensors: dtype F32, names in sorted
// order, data in the same order, the header padded with spaces so that the
// data starts 8-byte aligned, no __metadata__. The file is written to a
// temporary file in the same folder, synced and renamed over path, so path
// holds either its old content or the whole new file; on error the
// temporary file is removed. Names must be non-empty and must not be
// "__metadata__", and must be valid UTF-8 (JSON strings); a nil tensor is
// an error.
func Save(path string, tensors map[string]*tensor.Tensor) (err error) {
	names := make([]string, 0, len(tensors))
	for k, t := range tensors {
		if k == "" || k == "__metadata__" || !utf8.ValidString(k) {
			return fmt.Errorf("weights: save %s: %q cannot name a tensor", path, k)
		}
		if t == nil {
			return fmt.Errorf("weights: save %s: tensor %q is nil", path, k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	header := safetensorsHeader(names, tensors)

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
	for _, k := range names {
		data := tensors[k].Data()
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

// safetensorsHeader builds the JSON header for the sorted names, padded
// with spaces to a multiple of 8 bytes.
func safetensorsHeader(names []string, tensors map[string]*tensor.Tensor) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	var off int64
	for i, k := range names {
		t := tensors[k]
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k) // a string always marshals
		b.Write(key)
		b.WriteString(`:{"dtype":"F32","shape":[`)
		for j, d := range t.Shape() {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := off + 4*int64(t.Len())
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}
