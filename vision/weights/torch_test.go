package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pickler writes the few pickle opcodes (protocol 2) a torch.save
// state_dict uses, to build hostile and unusual checkpoints by hand.
type pickler struct{ bytes.Buffer }

func (p *pickler) str(s string) {
	p.WriteByte('X')
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
}

func (p *pickler) int(n int) {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		p.WriteByte('J')
		binary.Write(p, binary.LittleEndian, int32(n))
		return
	}
	p.Write([]byte{0x8a, 8}) // LONG1
	binary.Write(p, binary.LittleEndian, int64(n))
}

func (p *pickler) global(module, name string) { p.WriteString("c" + module + "\n" + name + "\n") }

func (p *pickler) tuple(xs []int) {
	p.WriteByte('(')
	for _, x := range xs {
		p.int(x)
	}
	p.WriteByte('t')
}

// view is a tensor to pickle: a view of storage key.
type view struct {
	name, class, key    string
	numel, offset       int
	size, stride        []int
	parameter, notEntry bool
}

// tensor writes _rebuild_tensor_v2(('storage', class, key, 'cpu', numel),
// offset, size, stride, False, OrderedDict()).
func (p *pickler) tensor(v view) {
	if v.parameter {
		p.global("torch._utils", "_rebuild_parameter")
		p.WriteByte('(')
	}
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.WriteByte('(')
	p.WriteByte('(')
	p.str("storage")
	module, name, _ := strings.Cut(v.class, ".")
	p.global(module, name)
	p.str(v.key)
	p.str("cpu")
	p.int(v.numel)
	p.WriteString("tQ")
	p.int(v.offset)
	p.tuple(v.size)
	p.tuple(v.stride)
	p.WriteByte(0x89) // False
	p.global("collections", "OrderedDict")
	p.WriteString(")R")
	p.WriteString("tR")
	if v.parameter {
		p.WriteByte(0x88) // True
		p.global("collections", "OrderedDict")
		p.WriteString(")RtR")
	}
}

// stateDict pickles {name: tensor, ...}.
func stateDict(views ...view) []byte {
	var p pickler
	p.Write([]byte{0x80, 2})
	p.WriteString("}(")
	for _, v := range views {
		p.str(v.name)
		p.tensor(v)
	}
	p.WriteString("u.")
	return p.Bytes()
}

// torchZip builds a torch.save-like archive around a pickle: records are
// named "archive/<name>" and stored, unless deflate lists them.
func torchZip(t testing.TB, pkl []byte, records map[string][]byte, deflate ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	add := func(name string, data []byte) {
		method := zip.Store
		if slices.Contains(deflate, name) {
			method = zip.Deflate
		}
		f, err := w.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(data)
	}
	add("data.pkl", pkl)
	names := make([]string, 0, len(records))
	for k := range records {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		add(k, records[k])
	}
	add("version", []byte("3\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func f32s(order binary.ByteOrder, vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		order.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func loadBytes(b []byte) (map[string][]float32, map[string][]int, error) {
	ts, err := load("crafted.pth", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, nil, err
	}
	vals, shapes := map[string][]float32{}, map[string][]int{}
	for k, t := range ts {
		vals[k], shapes[k] = t.Data(), t.Shape()
	}
	return vals, shapes, nil
}

// hugeInt is a quarter of the largest int.
const hugeInt = int(^uint(0) >> 2)

var eight = f32s(binary.LittleEndian, 0, 1, 2, 3, 4, 5, 6, 7)

func TestCraftedLoads(t *testing.T) {
	for _, tc := range []struct {
		name    string
		views   []view
		records map[string][]byte
		want    map[string][]float32
	}{
		{
			name: "parameter",
			views: []view{{name: "w", class: "torch.FloatStorage", key: "0", numel: 8,
				size: []int{2, 4}, stride: []int{4, 1}, parameter: true}},
			records: map[string][]byte{"data/0": eight},
			want:    map[string][]float32{"w": {0, 1, 2, 3, 4, 5, 6, 7}},
		},
		{
			name: "disjoint views of one storage",
			views: []view{
				{name: "a", class: "torch.FloatStorage", key: "0", numel: 8, size: []int{4}, stride: []int{1}},
				{name: "b", class: "torch.FloatStorage", key: "0", numel: 8, offset: 4, size: []int{2, 2}, stride: []int{2, 1}},
			},
			records: map[string][]byte{"data/0": eight},
			want:    map[string][]float32{"a": {0, 1, 2, 3}, "b": {4, 5, 6, 7}},
		},
		{
			name: "tied weights",
			views: []view{
				{name: "emb", class: "torch.FloatStorage", key: "0", numel: 8, size: []int{8}, stride: []int{1}},
				{name: "head", class: "torch.FloatStorage", key: "0", numel: 8, size: []int{8}, stride: []int{1}},
			},
			records: map[string][]byte{"data/0": eight},
			want:    map[string][]float32{"emb": {0, 1, 2, 3, 4, 5, 6, 7}, "head": {0, 1, 2, 3, 4, 5, 6, 7}},
		},
		{
			name: "broadcast",
			views: []view{{name: "x", class: "torch.FloatStorage", key: "0", numel: 8, offset: 1,
				size: []int{3, 2}, stride: []int{0, 2}}},
			records: map[string][]byte{"data/0": eight},
			want:    map[string][]float32{"x": {1, 3, 1, 3, 1, 3}},
		},
		{
			name: "big-endian storage",
			views: []view{{name: "x", class: "torch.FloatStorage", key: "0", numel: 2,
				size: []int{2}, stride: []int{1}}},
			records: map[string][]byte{"data/0": f32s(binary.BigEndian, 1.5, -2), "byteorder": []byte("big")},
			want:    map[string][]float32{"x": {1.5, -2}},
		},
		{
			name: "int64 and bool",
			views: []view{
				{name: "n", class: "torch.LongStorage", key: "0", numel: 1, size: []int{}, stride: []int{}},
				{name: "m", class: "torch.BoolStorage", key: "1", numel: 3, size: []int{3}, stride: []int{1}},
			},
			records: map[string][]byte{"data/0": {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "data/1": {0, 2, 1}},
			want:    map[string][]float32{"n": {-1}, "m": {0, 1, 1}},
		},
		{
			name: "an entry called model that is a tensor",
			views: []view{{name: "model", class: "torch.FloatStorage", key: "0", numel: 8,
				size: []int{1}, stride: []int{1}, offset: 7}},
			records: map[string][]byte{"data/0": eight},
			want:    map[string][]float32{"model": {7}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := loadBytes(torchZip(t, stateDict(tc.views...), tc.records))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, w := range tc.want {
				if !slices.Equal(got[k], w) {
					t.Errorf("%s = %v, want %v", k, got[k], w)
				}
			}
			// No write to one tensor shows in another.
			for k, v := range got {
				for i := range v {
					v[i] = -99
				}
				for k2, v2 := range got {
					if k2 != k && slices.Contains(v2, -99) {
						t.Errorf("writing %s changed %s", k, k2)
					}
				}
				copy(v, tc.want[k])
			}
		})
	}
}

func TestCraftedRefused(t *testing.T) {
	ok := view{name: "w", class: "torch.FloatStorage", key: "0", numel: 8, size: []int{8}, stride: []int{1}}
	with := func(f func(v *view)) view { v := ok; f(&v); return v }
	records := map[string][]byte{"data/0": eight}
	for _, tc := range []struct {
		name    string
		file    []byte
		want    string
		noPanic bool // only check that it fails
	}{
		{name: "storage larger than its record",
			file: torchZip(t, stateDict(with(func(v *view) { v.numel = hugeInt; v.size = []int{1} })), records),
			want: `tensor "w": storage "0" claims ` + strconv.Itoa(hugeInt) + ` values of torch.FloatStorage (4 bytes each), its record holds 32 bytes`},
		{name: "view past the storage",
			file: torchZip(t, stateDict(with(func(v *view) { v.size = []int{3}; v.stride = []int{4} })), records),
			want: `tensor "w": size [3], stride [4] at offset 0 reach outside the storage of 8 values`},
		{name: "offset past the storage",
			file: torchZip(t, stateDict(with(func(v *view) { v.offset = 8; v.size = []int{1} })), records),
			want: `tensor "w": storage offset 8 is outside`},
		{name: "negative stride",
			file: torchZip(t, stateDict(with(func(v *view) { v.size = []int{2}; v.stride = []int{-1} })), records),
			want: `negative size or stride`},
		{name: "broadcast bomb",
			file: torchZip(t, stateDict(with(func(v *view) { v.size = []int{1 << 12, 1 << 12}; v.stride = []int{0, 0} })), records),
			want: `tensor "w": the tensors claim more than`},
		{name: "size overflow",
			file: torchZip(t, stateDict(with(func(v *view) { v.size = []int{hugeInt, hugeInt}; v.stride = []int{0, 0} })), records),
			want: `too large`},
		{name: "missing record",
			file: torchZip(t, stateDict(ok), nil),
			want: `tensor "w": zip record "archive/data/0" is missing`},
		{name: "compressed record",
			file: torchZip(t, stateDict(ok), records, "data/0"),
			want: `zip record "archive/data/0" is compressed`},
		{name: "storage described twice",
			file: torchZip(t, stateDict(ok, with(func(v *view) { v.name = "v"; v.class = "torch.HalfStorage" })), records),
			want: `storage "0" is described twice`},
		{name: "unknown storage class",
			file: torchZip(t, stateDict(with(func(v *view) { v.class = "torch.QInt8Storage" })), records),
			want: `pickle global torch.QInt8Storage is not allowed`},
		{name: "load_from_bytes",
			file: torchZip(t, []byte("\x80\x02ctorch.storage\n_load_from_bytes\n."), nil),
			want: `pickle global torch.storage._load_from_bytes is not allowed (a checkpoint never runs code)`},
		{name: "builtins eval",
			file: torchZip(t, []byte("\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1\x85R."), nil),
			want: `pickle global builtins.eval is not allowed`},
		{name: "not a dict",
			file: torchZip(t, []byte("\x80\x02]."), nil),
			want: `the pickle holds a list, not a dict of tensors`},
		{name: "entry not a tensor",
			file: torchZip(t, []byte("\x80\x02}X\x05\x00\x00\x00epochK\x03s."), nil),
			want: `entry "epoch" is an int, not a tensor`},
		{name: "key not a string",
			file: torchZip(t, []byte("\x80\x02}K\x01K\x03s."), nil),
			want: `key that is an int`},
		{name: "duplicate name",
			file: torchZip(t, stateDict(ok, ok), records),
			want: `tensor "w": named twice`},
		{name: "bad persistent id",
			file: torchZip(t, []byte("\x80\x02}X\x01\x00\x00\x00wX\x01\x00\x00\x00xQs."), nil),
			want: `persistent id is a str`},
		{name: "frame bomb",
			file: torchZip(t, []byte("\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x10}."), nil),
			want: `claims 1152921504606846976 bytes`},
		{name: "bytes bomb",
			file: torchZip(t, []byte("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f."), nil),
			want: `malformed pickle`},
		{name: "mark bomb",
			file: torchZip(t, append([]byte("\x80\x02"), bytes.Repeat([]byte("("), 2<<20)...), nil),
			want: `pickle would need more than`},
		{name: "empty long",
			file: torchZip(t, []byte("\x80\x02\x8a\x00."), nil),
			want: `long of 0 bytes`},
		{name: "odd dict", // gopickle indexes past the items
			file: torchZip(t, []byte("\x80\x02(K\x01d."), nil),
			want: `malformed pickle`},
		{name: "unhashable key", // gopickle's OrderedDict is a Go map
			file: torchZip(t, []byte("\x80\x03ccollections\nOrderedDict\n)RC\x01aK\x01s."), nil),
			want: `malformed pickle`},
		{name: "no stop",
			file: torchZip(t, []byte("\x80\x02}"), nil),
			want: `pickle ends without STOP`},
		{name: "no data.pkl",
			file: func() []byte {
				var b bytes.Buffer
				w := zip.NewWriter(&b)
				w.Create("x/version")
				w.Close()
				return b.Bytes()
			}(),
			want: `without data.pkl`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := loadBytes(tc.file)
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("%v does not wrap ErrFormat", err)
			}
			if !strings.HasPrefix(err.Error(), "weights: crafted.pth: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not start \"weights: crafted.pth: \" and mention %q", err, tc.want)
			}
		})
	}
}

func TestUnwrapCheckpoint(t *testing.T) {
	w := view{name: "w", class: "torch.FloatStorage", key: "0", numel: 8, size: []int{8}, stride: []int{1}}
	inner := stateDict(w)
	inner = inner[2 : len(inner)-1] // drop PROTO and STOP
	for _, key := range []string{"state_dict", "model_state_dict", "model"} {
		t.Run(key, func(t *testing.T) {
			var p pickler
			p.Write([]byte{0x80, 2})
			p.WriteString("}(")
			p.str("epoch")
			p.int(3)
			p.str(key)
			p.Write(inner)
			p.WriteString("u.")
			got, _, err := loadBytes(torchZip(t, p.Bytes(), map[string][]byte{"data/0": eight}))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || len(got["w"]) != 8 {
				t.Errorf("got %v", got)
			}
		})
	}
}
