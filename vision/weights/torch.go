package weights

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/nlpodyssey/gopickle/types"

	"govision.dev/vision/tensor"
)

// unwrapKeys are the entries of a training checkpoint that hold the
// weights, in the order they are tried.
var unwrapKeys = []string{"state_dict", "model_state_dict", "model"}

// loadTorch reads a PyTorch zip checkpoint: r holds size bytes.
//
// mapped, when not nil, is the same file mapped into memory (Map): float32
// storages are then slices of it rather than copies.
func loadTorch(name string, r io.ReaderAt, size int64, mapped []byte) (map[string]*tensor.Tensor, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // paths are only looked up, never written
		return nil, formatErr(name, "", "bad zip archive: %v", err)
	}
	a, err := openArchive(name, zr, size)
	if err != nil {
		return nil, err
	}
	a.mapped = mapped
	pkl, err := a.readSmall(a.prefix+"data.pkl", maxPickle)
	if err != nil {
		return nil, err
	}

	storages := map[string]*storageRef{}
	persistentLoad := func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() != 5 {
			return nil, formatErr(name, "", "persistent id is %s, want a 5-tuple ('storage', class, key, location, numel)", pyType(id))
		}
		kind, _ := t.Get(0).(string)
		class, okClass := t.Get(1).(*storageClass)
		key, okKey := t.Get(2).(string)
		_, okLoc := t.Get(3).(string)
		n, okN := t.Get(4).(int)
		if kind != "storage" || !okClass || !okKey || !okLoc || !okN || n < 0 {
			return nil, formatErr(name, "", "persistent id is not ('storage', class, key, location, numel)")
		}
		if st, ok := storages[key]; ok {
			if st.class.name != class.name || st.numel != n {
				return nil, formatErr(name, "", "storage %q is described twice, differently", key)
			}
			return st, nil
		}
		st := &storageRef{key: key, class: class, numel: n}
		storages[key] = st
		return st, nil
	}
	top, err := unpickle(name, pkl, persistentLoad)
	if err != nil {
		return nil, err
	}
	pkl = nil

	entries, ok := dictEntries(top)
	if !ok {
		return nil, formatErr(name, "", "the pickle holds %s, not a dict of tensors (a state_dict)", pyType(top))
	}
	for _, k := range unwrapKeys {
		if v, found := lookup(entries, k); found {
			if inner, ok := dictEntries(v); ok {
				entries = inner
				break
			}
		}
	}
	refs := make([]namedRef, 0, len(entries))
	seen := map[string]bool{}
	for _, e := range entries {
		k, ok := e.Key.(string)
		if !ok {
			return nil, formatErr(name, "", "the state_dict has a key that is %s, not a str", pyType(e.Key))
		}
		t, ok := e.Value.(*tensorRef)
		if !ok {
			return nil, formatErr(name, "", "entry %q is %s, not a tensor", k, pyType(e.Value))
		}
		if seen[k] {
			return nil, formatErr(name, k, "named twice in the state_dict")
		}
		seen[k] = true
		refs = append(refs, namedRef{k, t})
	}
	return a.materialise(refs)
}

type namedRef struct {
	name string
	ref  *tensorRef
}

// archive is an opened torch.save zip: its records by name, the common
// prefix ("archive/"), and the byte order of its storages.
type archive struct {
	file    string // for errors
	size    int64
	records map[string]*zip.File
	prefix  string
	order   binary.ByteOrder
	read    uint64 // storage record bytes read so far
	mapped  []byte // the file mapped into memory, or nil (loadTorch)
}

func openArchive(file string, zr *zip.Reader, size int64) (*archive, error) {
	a := &archive{file: file, size: size, records: make(map[string]*zip.File, len(zr.File)), order: binary.LittleEndian}
	var pickles []string
	for _, f := range zr.File {
		if _, dup := a.records[f.Name]; dup {
			return nil, formatErr(file, "", "zip record %q appears twice", f.Name)
		}
		a.records[f.Name] = f
		_, rest, _ := strings.Cut(f.Name, "/")
		if rest == "constants.pkl" || strings.HasPrefix(rest, "code/") {
			return nil, formatErr(file, "", "a TorchScript archive (torch.jit.save), not a torch.save checkpoint: it holds a program, not just weights; in Python, save the weights with torch.save(model.state_dict(), path)")
		}
		if strings.HasSuffix(f.Name, "/data.pkl") || f.Name == "data.pkl" {
			pickles = append(pickles, f.Name)
		}
	}
	switch len(pickles) {
	case 0:
		return nil, formatErr(file, "", "a zip archive without data.pkl: not a torch.save checkpoint")
	case 1:
		a.prefix = strings.TrimSuffix(pickles[0], "data.pkl")
	default:
		return nil, formatErr(file, "", "a zip archive with %d data.pkl records", len(pickles))
	}
	if _, ok := a.records[a.prefix+"byteorder"]; ok {
		b, err := a.readSmall(a.prefix+"byteorder", 16)
		if err != nil {
			return nil, err
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			a.order = binary.BigEndian
		default:
			return nil, formatErr(file, "", "byteorder record says %q", b)
		}
	}
	return a, nil
}

// stored returns the record named n after checking that it is stored
// uncompressed inside the file.
func (a *archive) stored(n string) (*zip.File, error) {
	f, ok := a.records[n]
	if !ok {
		return nil, formatErr(a.file, "", "zip record %q is missing", n)
	}
	if f.Method != zip.Store {
		return nil, formatErr(a.file, "", "zip record %q is compressed (method %d); torch.save stores records uncompressed", n, f.Method)
	}
	off, err := f.DataOffset()
	if err != nil {
		return nil, formatErr(a.file, "", "zip record %q: %v", n, err)
	}
	if f.CompressedSize64 != f.UncompressedSize64 || off < 0 || f.UncompressedSize64 > uint64(a.size-off) {
		return nil, formatErr(a.file, "", "zip record %q claims %d bytes at offset %d of a %d-byte file", n, f.UncompressedSize64, off, a.size)
	}
	return f, nil
}

// readSmall reads a whole record of at most limit bytes.
func (a *archive) readSmall(n string, limit uint64) ([]byte, error) {
	f, err := a.stored(n)
	if err != nil {
		return nil, err
	}
	if f.UncompressedSize64 > limit {
		return nil, formatErr(a.file, "", "zip record %q has %d bytes, more than the %d allowed", n, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, formatErr(a.file, "", "zip record %q: %v", n, err)
	}
	defer rc.Close()
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, formatErr(a.file, "", "zip record %q: %v", n, err)
	}
	if err := drain(rc); err != nil { // checks the CRC
		return nil, formatErr(a.file, "", "zip record %q: %v", n, err)
	}
	return b, nil
}

// drain reads r to its end, so that the zip reader checks the CRC.
func drain(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// use is one tensor's view of a storage and how it is materialised.
type use struct {
	namedRef
	numel int
	alias bool // a slice of the storage's values rather than a copy
}

// materialise checks every view against its storage, reads each storage
// once, in the order first used, and builds the tensors from it.
func (a *archive) materialise(refs []namedRef) (map[string]*tensor.Tensor, error) {
	// Values the views may produce in all: twice the file (a tied weight
	// named twice) plus some room for broadcast views of small storages.
	budget := 2*a.size + 1<<20
	var total int64
	var order []*storageRef
	uses := map[*storageRef][]*use{}
	for _, nr := range refs {
		n, err := checkView(nr.ref)
		if err != nil {
			return nil, formatErr(a.file, nr.name, "%v", err)
		}
		total += int64(n)
		if total > budget {
			return nil, formatErr(a.file, nr.name, "the tensors claim more than %d values in all, from a %d-byte file", budget, a.size)
		}
		st := nr.ref.st
		if _, ok := uses[st]; !ok {
			order = append(order, st)
		}
		uses[st] = append(uses[st], &use{namedRef: nr, numel: n})
	}

	out := make(map[string]*tensor.Tensor, len(refs))
	buf := make([]byte, chunkBytes)
	for _, st := range order {
		us := uses[st]
		values, err := a.readStorage(st, us[0].name, buf)
		if err != nil {
			return nil, err
		}
		planAliases(st, us)
		for _, u := range us {
			var data []float32
			if u.alias {
				data = values[u.ref.offset : u.ref.offset+u.numel : u.ref.offset+u.numel]
			} else {
				data = make([]float32, u.numel)
				gather(data, values, u.ref.offset, u.ref.size, u.ref.stride)
			}
			t, err := tensor.FromData(u.ref.size, data)
			if err != nil {
				return nil, formatErr(a.file, u.name, "%v", err)
			}
			out[u.name] = t
		}
	}
	return out, nil
}

// checkView checks that a view lies inside its storage and returns its
// element count.
func checkView(t *tensorRef) (int, error) {
	if len(t.size) != len(t.stride) {
		return 0, fmt.Errorf("size %v and stride %v differ in length", t.size, t.stride)
	}
	if t.offset < 0 {
		return 0, fmt.Errorf("negative storage offset %d", t.offset)
	}
	n := 1
	for i, d := range t.size {
		if d < 0 || t.stride[i] < 0 {
			return 0, fmt.Errorf("negative size or stride: size %v, stride %v", t.size, t.stride)
		}
		if d != 0 && n > (maxInt>>1)/d {
			return 0, fmt.Errorf("size %v is too large", t.size)
		}
		n *= d
	}
	if n == 0 {
		return 0, nil
	}
	// The last element, offset + Σ (size-1)·stride, must be in the storage.
	last := t.offset
	limit := t.st.numel - 1
	if last > limit {
		return 0, fmt.Errorf("storage offset %d is outside the storage of %d values", t.offset, t.st.numel)
	}
	for i, d := range t.size {
		s := t.stride[i]
		if d == 1 || s == 0 {
			continue
		}
		if d-1 > (limit-last)/s {
			return 0, fmt.Errorf("size %v, stride %v at offset %d reach outside the storage of %d values", t.size, t.stride, t.offset, t.st.numel)
		}
		last += (d - 1) * s
	}
	return n, nil
}

// contiguous reports whether a view is row-major without gaps (strides of
// dimensions of size 1 do not matter, as in torch).
func contiguous(t *tensorRef) bool {
	expect := 1
	for i := len(t.size) - 1; i >= 0; i-- {
		if t.size[i] != 1 && t.stride[i] != expect {
			return false
		}
		expect *= t.size[i]
	}
	return true
}

// planAliases marks the views that may slice the storage's values instead
// of copying them: contiguous views overlapping no other contiguous view,
// provided together they cover at least half the storage (otherwise the
// rest of the storage would be kept alive for nothing).
func planAliases(st *storageRef, us []*use) {
	var cand []*use
	for _, u := range us {
		if u.numel > 0 && contiguous(u.ref) {
			cand = append(cand, u)
		}
	}
	sort.SliceStable(cand, func(i, j int) bool { return cand[i].ref.offset < cand[j].ref.offset })
	covered := 0
	maxEnd := 0
	for i, u := range cand {
		start, end := u.ref.offset, u.ref.offset+u.numel
		ok := start >= maxEnd && (i+1 == len(cand) || cand[i+1].ref.offset >= end)
		maxEnd = max(maxEnd, end)
		if ok {
			u.alias = true
			covered += u.numel
		}
	}
	if 2*covered < st.numel {
		for _, u := range cand {
			u.alias = false
		}
	}
}

// readStorage reads a storage's record into float32 values, checking the
// claimed size against the record and the record against the file first.
func (a *archive) readStorage(st *storageRef, user string, buf []byte) ([]float32, error) {
	if st.numel == 0 {
		return nil, nil
	}
	n := a.prefix + "data/" + st.key
	f, err := a.stored(n)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Tensor = user
		}
		return nil, err
	}
	if uint64(st.numel) > f.UncompressedSize64/uint64(st.class.dt.size) {
		return nil, formatErr(a.file, user, "storage %q claims %d values of %s (%d bytes each), its record holds %d bytes",
			st.key, st.numel, st.class.name, st.class.dt.size, f.UncompressedSize64)
	}
	// Stored records cannot overlap in a sane zip: a file whose records
	// add up to more than its size is a zip bomb.
	a.read += f.UncompressedSize64
	if a.read > uint64(a.size) {
		return nil, formatErr(a.file, user, "the storage records add up to more bytes than the file has")
	}
	if a.mapped != nil && st.class.dt.name == dtF32.name && a.order == binary.LittleEndian {
		if off, err := f.DataOffset(); err == nil {
			values, ok, err := mappedStorage(a.mapped, off, f.UncompressedSize64, st.numel, f.CRC32)
			if err != nil {
				return nil, formatErr(a.file, user, "zip record %q: %v", n, err)
			}
			if ok {
				return values, nil
			}
		}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, formatErr(a.file, user, "zip record %q: %v", n, err)
	}
	defer rc.Close()
	values := make([]float32, st.numel)
	if err := readValues(rc, values, st.class.dt, a.order, buf); err != nil {
		return nil, formatErr(a.file, user, "zip record %q: %v", n, err)
	}
	if err := drain(rc); err != nil {
		return nil, formatErr(a.file, user, "zip record %q: %v", n, err)
	}
	return values, nil
}

// gather copies the view (offset, size, stride) of src into dst, in
// row-major order; len(dst) is the view's element count.
func gather(dst, src []float32, offset int, size, stride []int) {
	if len(dst) == 0 {
		return
	}
	nd := len(size)
	if nd == 0 {
		dst[0] = src[offset]
		return
	}
	inner, step := size[nd-1], stride[nd-1]
	idx := make([]int, nd)
	pos := offset
	for o := 0; o < len(dst); o += inner {
		p := pos
		row := dst[o : o+inner]
		for j := range row {
			row[j] = src[p]
			p += step
		}
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			pos += stride[d]
			if idx[d] < size[d] {
				break
			}
			pos -= stride[d] * size[d]
			idx[d] = 0
		}
	}
}

// dictEntries returns the entries of a dict or OrderedDict, in order.
func dictEntries(v any) ([]types.DictEntry, bool) {
	switch d := v.(type) {
	case *types.Dict:
		return *d, true
	case *types.OrderedDict:
		es := make([]types.DictEntry, 0, d.Len())
		for e := d.List.Front(); e != nil; e = e.Next() {
			oe, ok := e.Value.(*types.OrderedDictEntry)
			if !ok {
				return nil, false
			}
			es = append(es, types.DictEntry{Key: oe.Key, Value: oe.Value})
		}
		return es, true
	}
	return nil, false
}

func lookup(entries []types.DictEntry, key string) (any, bool) {
	for _, e := range entries {
		if k, ok := e.Key.(string); ok && k == key {
			return e.Value, true
		}
	}
	return nil, false
}
