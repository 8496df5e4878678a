package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"govision.dev/vision/tensor"
)

// golden is testdata/golden/weights.json, written by tools/golden/weights.py.
type golden struct {
	TorchVersion string                             `json:"torch_version"`
	Files        map[string]map[string]goldenTensor `json:"files"`
}

type goldenTensor struct {
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

const goldenDir = "testdata/golden"

func readGolden(t testing.TB) golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "weights.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Files) == 0 {
		t.Fatal("weights.json lists no files")
	}
	return g
}

// equalToGolden compares tensors with the reference exactly, bit for bit
// (so -0 differs from +0).
func equalToGolden(t *testing.T, got map[string]*tensor.Tensor, want map[string]goldenTensor) {
	t.Helper()
	var gotNames, wantNames []string
	for k := range got {
		gotNames = append(gotNames, k)
	}
	for k := range want {
		wantNames = append(wantNames, k)
	}
	sort.Strings(gotNames)
	sort.Strings(wantNames)
	if !slices.Equal(gotNames, wantNames) {
		t.Fatalf("names:\n got %v\nwant %v", gotNames, wantNames)
	}
	for _, k := range wantNames {
		g, w := got[k], want[k]
		if !slices.Equal(g.Shape(), w.Shape) {
			t.Errorf("%s: shape %v, want %v", k, g.Shape(), w.Shape)
			continue
		}
		if g.Len() != len(w.Values) {
			t.Errorf("%s: %d values, want %d", k, g.Len(), len(w.Values))
			continue
		}
		for i, v := range g.Data() {
			if wv := float32(w.Values[i]); math.Float32bits(v) != math.Float32bits(wv) {
				t.Errorf("%s[%d] = %v (%#08x), want %v (%#08x)", k, i, v, math.Float32bits(v), wv, math.Float32bits(wv))
				break
			}
		}
	}
}

func TestLoadGolden(t *testing.T) {
	g := readGolden(t)
	for file, want := range g.Files {
		t.Run(file, func(t *testing.T) {
			got, err := Load(filepath.Join(goldenDir, file))
			if err != nil {
				t.Fatal(err)
			}
			equalToGolden(t, got, want)
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string // substrings of the error
	}{
		{"hostile.pth", []string{"pickle global posix.system is not allowed", "never runs code"}},
		{"model.pth", []string{"pickle global torch.nn.modules.container.Sequential is not allowed", "whole pickled model", "torch.save(model.state_dict(), path)"}},
		{"script.pt", []string{"TorchScript", "torch.save(model.state_dict(), path)"}},
		{"legacy.pth", []string{"legacy torch.save format", "_use_new_zipfile_serialization=False"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(goldenDir, tc.file)
			_, err := Load(path)
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %q does not wrap ErrFormat", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "weights: "+path+": ") {
				t.Errorf("error %q does not start with %q", msg, "weights: "+path+": ")
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.pth"))
	if err == nil || errors.Is(err, ErrFormat) || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "weights: ") {
		t.Errorf("got %v; want a \"weights: \" error wrapping os.ErrNotExist, not ErrFormat", err)
	}
}

func TestLoadUnknownFormat(t *testing.T) {
	for name, content := range map[string]string{
		"empty": "",
		"text":  "hello, world\n",
		"short": "PK",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.bin")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(path); !errors.Is(err, ErrFormat) {
				t.Errorf("got %v, want ErrFormat", err)
			}
		})
	}
}

// TestSharedStorageIsNotShared checks that names viewing one storage come
// back as tensors whose writes do not show in one another.
func TestSharedStorageIsNotShared(t *testing.T) {
	got, err := Load(filepath.Join(goldenDir, "shared.pth"))
	if err != nil {
		t.Fatal(err)
	}
	a, c := got["a"].Data(), got["c"].Data()
	before := c[2]
	a[0] = 1234
	if c[2] != before {
		t.Errorf("writing a[0] changed c[2] to %v", c[2])
	}
}

func TestSaveRoundTrip(t *testing.T) {
	g := readGolden(t)
	for _, file := range []string{"state_dict.pth", "strided.pth", "half.pth", "mixed.safetensors"} {
		t.Run(file, func(t *testing.T) {
			orig, err := Load(filepath.Join(goldenDir, file))
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out.safetensors")
			if err := Save(out, orig); err != nil {
				t.Fatal(err)
			}
			back, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			equalToGolden(t, back, g.Files[file])
			entries, _ := os.ReadDir(filepath.Dir(out))
			if len(entries) != 1 {
				t.Errorf("folder holds %d files after Save, want 1", len(entries))
			}
		})
	}
}

// TestSaveLayout checks the bytes Save writes against the safetensors
// specification: header length, sorted names, aligned data, F32 values.
func TestSaveLayout(t *testing.T) {
	b1, _ := tensor.FromData([]int{2}, []float32{1, -2})
	b2, _ := tensor.FromData([]int{}, []float32{0.5})
	b3, _ := tensor.FromData([]int{0, 3}, []float32{})
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := Save(path, map[string]*tensor.Tensor{"z": b1, "a": b2, "m": b3}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	header := string(bytes.TrimRight(raw[8:8+n], " "))
	want := `{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},` +
		`"m":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},` +
		`"z":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`
	if header != want {
		t.Errorf("header\n got %s\nwant %s", header, want)
	}
	data := raw[8+n:]
	wantData := []float32{0.5, 1, -2}
	if len(data) != 4*len(wantData) {
		t.Fatalf("%d data bytes, want %d", len(data), 4*len(wantData))
	}
	for i, w := range wantData {
		if v := math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])); v != w {
			t.Errorf("value %d = %v, want %v", i, v, w)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

func TestSaveErrors(t *testing.T) {
	one, _ := tensor.FromData([]int{1}, []float32{1})
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		path    string
		tensors map[string]*tensor.Tensor
	}{
		"empty name":     {filepath.Join(dir, "a.safetensors"), map[string]*tensor.Tensor{"": one}},
		"metadata name":  {filepath.Join(dir, "b.safetensors"), map[string]*tensor.Tensor{"__metadata__": one}},
		"nil tensor":     {filepath.Join(dir, "c.safetensors"), map[string]*tensor.Tensor{"w": nil}},
		"invalid utf-8":  {filepath.Join(dir, "e.safetensors"), map[string]*tensor.Tensor{"w\xff": one}},
		"missing folder": {filepath.Join(dir, "no", "d.safetensors"), map[string]*tensor.Tensor{"w": one}},
		"onto a folder":  {sub, map[string]*tensor.Tensor{"w": one}}, // the rename fails
	} {
		t.Run(name, func(t *testing.T) {
			err := Save(tc.path, tc.tensors)
			if err == nil || !strings.HasPrefix(err.Error(), "weights: ") {
				t.Fatalf("got %v, want a \"weights: \" error", err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 { // sub
				t.Errorf("left %v behind", entries)
			}
		})
	}
}

// TestSaveReplaces checks that Save replaces an existing file whole.
func TestSaveReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	one, _ := tensor.FromData([]int{1}, []float32{7})
	if err := Save(path, map[string]*tensor.Tensor{"w": one}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["w"].Data()[0] != 7 {
		t.Errorf("got %v", got)
	}
}

// TestTruncated loads every prefix of every fixture: each must fail with
// ErrFormat (or, for a prefix that is still a whole file, succeed), and
// none may panic.
func TestTruncated(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.p*"))
	more, _ := filepath.Glob(filepath.Join(goldenDir, "*.safetensors"))
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		step := 1
		if testing.Short() {
			step = 7
		}
		for n := 0; n < len(b); n += step {
			_, err := load(file, bytes.NewReader(b[:n]), int64(n))
			if err == nil {
				t.Errorf("%s cut to %d of %d bytes loaded", file, n, len(b))
			} else if !errors.Is(err, ErrFormat) {
				t.Errorf("%s cut to %d bytes: %v does not wrap ErrFormat", file, n, err)
			}
		}
	}
}

// TestCorrupt flips each byte of the small fixtures in turn: loading must
// never panic (errors or, where the byte does not matter, success).
func TestCorrupt(t *testing.T) {
	for _, file := range []string{"shared.pth", "mixed.safetensors", "hostile.pth"} {
		b, err := os.ReadFile(filepath.Join(goldenDir, file))
		if err != nil {
			t.Fatal(err)
		}
		c := make([]byte, len(b))
		for i := range b {
			copy(c, b)
			c[i] ^= 0xff
			load(file, bytes.NewReader(c), int64(len(c)))
		}
	}
}

// TestCorruptPickle changes each byte of the fixtures' pickles in turn,
// inside an archive with a valid CRC, so that the unpickler itself sees
// every change: loading must never panic.
func TestCorruptPickle(t *testing.T) {
	for _, file := range []string{"shared.pth", "hostile.pth", "state_dict.pth"} {
		b, err := os.ReadFile(filepath.Join(goldenDir, file))
		if err != nil {
			t.Fatal(err)
		}
		a, err := openArchive(file, mustZip(t, b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		pkl, err := a.readSmall(a.prefix+"data.pkl", maxPickle)
		if err != nil {
			t.Fatal(err)
		}
		c := make([]byte, len(pkl))
		for i := range pkl {
			for _, v := range []byte{0, 1, 0x7f, 0xff, pkl[i] + 1, pkl[i] - 1, pkl[i] ^ 0x80} {
				copy(c, pkl)
				c[i] = v
				z := torchZip(t, c, fuzzRecords)
				_, err := load(file, bytes.NewReader(z), int64(len(z)))
				if err != nil && !errors.Is(err, ErrFormat) {
					t.Fatalf("byte %d set to %#x: %v does not wrap ErrFormat", i, v, err)
				}
			}
		}
	}
}

func mustZip(t *testing.T, b []byte) *zip.Reader {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func TestAllowedGlobals(t *testing.T) {
	g := AllowedGlobals()
	for _, w := range []string{"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.LongStorage"} {
		if !slices.Contains(g, w) {
			t.Errorf("AllowedGlobals lacks %s", w)
		}
	}
	for _, s := range g {
		if strings.Contains(s, "_load_from_bytes") || strings.HasPrefix(s, "builtins.") || strings.HasPrefix(s, "os.") {
			t.Errorf("AllowedGlobals allows %s", s)
		}
	}
}

// TestHalfToFloat checks every float16 bit pattern against the format's
// definition, (-1)^s · 2^(e-15) · (1 + f/1024), or 2^-14 · f/1024 for e = 0.
func TestHalfToFloat(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		s, e, f := h>>15, (h>>10)&0x1f, h&0x3ff
		got := halfToFloat(uint16(h))
		var want float64
		switch {
		case e == 0x1f && f == 0:
			want = math.Inf(1)
		case e == 0x1f:
			if !math.IsNaN(float64(got)) {
				t.Errorf("%#04x: %v, want NaN", h, got)
			}
			continue
		case e == 0:
			want = math.Ldexp(float64(f)/1024, -14)
		default:
			want = math.Ldexp(1+float64(f)/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		if math.Float32bits(got) != math.Float32bits(float32(want)) {
			t.Errorf("%#04x: %v, want %v", h, got, want)
		}
	}
}
