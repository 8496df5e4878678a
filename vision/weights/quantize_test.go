package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"govision.dev/vision/tensor"
)

// TestQuantizedRoundTrip saves a tfjs manifest's tensors with their
// quantization and loads them back: the same bits as LoadTFJS gives, the
// quantized ones stored as codes.
func TestQuantizedRoundTrip(t *testing.T) {
	manifest := writeTFJS(t, tfjsManifest, tfjsShard)
	orig, err := LoadTFJS(manifest)
	if err != nil {
		t.Fatal(err)
	}
	quant, err := TFJSQuantization(manifest)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Quantization{"q8": {"U8", -1, 0.5}, "q16": {"U16", 0, 0.25}}
	if len(quant) != len(want) || quant["q8"] != want["q8"] || quant["q16"] != want["q16"] {
		t.Fatalf("TFJSQuantization: %v, want %v", quant, want)
	}
	out := filepath.Join(t.TempDir(), "q.safetensors")
	if err := SaveQuantized(out, orig, quant); err != nil {
		t.Fatal(err)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range orig {
		if b := back[k]; b == nil || !slices.Equal(b.Shape(), v.Shape()) || !slices.Equal(bits(b.Data()), bits(v.Data())) {
			t.Errorf("%s: got %v, want %v", k, back[k], v)
		}
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	header := string(bytes.TrimRight(raw[8:8+n], " "))
	for _, s := range []string{
		`"__metadata__":{"quantization/q16":"{\"min\":0,\"scale\":0.25}","quantization/q8":"{\"min\":-1,\"scale\":0.5}"}`,
		`"q8":{"dtype":"U8","shape":[3],"data_offsets":[50,53]}`,
		`"q16":{"dtype":"U16","shape":[3],"data_offsets":[44,50]}`,
	} {
		if !strings.Contains(header, s) {
			t.Errorf("header %s\nlacks %s", header, s)
		}
	}
	// The F32 tensors (11 values: 44 bytes), then the U16 codes, then the U8 ones.
	if data := raw[8+n:]; !bytes.Equal(data[44:], []byte{0, 0, 2, 0, 0xff, 0xff, 0, 1, 255}) {
		t.Errorf("codes % x", data[44:])
	}
}

func bits(v []float32) []uint32 {
	b := make([]uint32, len(v))
	for i, x := range v {
		b[i] = math.Float32bits(x)
	}
	return b
}

// TestQuantizedExact checks that values computed in float64 from
// manifest-style minimums and scales come back to the bit.
func TestQuantizedExact(t *testing.T) {
	q := Quantization{Dtype: "U8", Min: -0.34107395246917127, Scale: 0.0026856216729856004}
	v := make([]float32, 256)
	for i := range v {
		v[i] = float32(float64(i)*q.Scale + q.Min)
	}
	x, _ := tensor.FromData([]int{16, 16}, v)
	out := filepath.Join(t.TempDir(), "x.safetensors")
	if err := SaveQuantized(out, map[string]*tensor.Tensor{"x": x}, map[string]Quantization{"x": q}); err != nil {
		t.Fatal(err)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bits(back["x"].Data()), bits(v)) {
		t.Error("values changed")
	}
	if st, _ := os.Stat(out); st.Size() > 256+200 {
		t.Errorf("%d bytes for 256 uint8 codes", st.Size())
	}
}

func TestSaveQuantizedErrors(t *testing.T) {
	x, _ := tensor.FromData([]int{3}, []float32{0, 0.5, 0.75})
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		quant map[string]Quantization
		want  string
	}{
		{"off the grid", map[string]Quantization{"x": {"U8", 0, 0.5}}, `tensor "x": value 2, 0.75, is not 0 + 0.5·q`},
		{"past the codes", map[string]Quantization{"x": {"U8", 0, 0.001}}, "q in 0…255"},
		{"below min", map[string]Quantization{"x": {"U16", 0.1, 0.05}}, "value 0"},
		{"dtype", map[string]Quantization{"x": {"I8", 0, 0.25}}, `dtype "I8"`},
		{"infinite scale", map[string]Quantization{"x": {"U8", 0, math.Inf(1)}}, "finite"},
		{"no such tensor", map[string]Quantization{"y": {"U8", 0, 0.25}}, `tensor "y", which is not saved`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := SaveQuantized(filepath.Join(dir, "x.safetensors"), map[string]*tensor.Tensor{"x": x}, tc.quant)
			if err == nil || !strings.HasPrefix(err.Error(), "weights: save ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left %v behind", entries)
			}
		})
	}
}

func TestQuantizedCrafted(t *testing.T) {
	codes := []byte{0, 1, 2, 3}
	for _, tc := range []struct {
		name, header string
		want         string // "" means it must load
		data         []float32
	}{
		{name: "quantized", header: `{"__metadata__":{"format":"pt","quantization/a":"{\"min\":1,\"scale\":0.5}"},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`,
			data: []float32{1, 1.5, 2, 2.5}},
		{name: "scale only", header: `{"__metadata__":{"quantization/a":"{\"scale\":2}"},"a":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}}`,
			data: []float32{512, 1540}}, // codes 0x0100, 0x0302
		{name: "plain U8", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`,
			data: []float32{0, 1, 2, 3}},
		{name: "no such tensor", header: `{"__metadata__":{"quantization/b":"{\"scale\":2}"},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`,
			want: `tensor "b": __metadata__ "quantization/b" quantizes a tensor the file does not hold`},
		{name: "float codes", header: `{"__metadata__":{"quantization/a":"{\"scale\":2}"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
			want: `tensor "a": quantized, but stored as F32`},
		{name: "no scale", header: `{"__metadata__":{"quantization/a":"{\"min\":2}"},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`,
			want: `has no scale`},
		{name: "not json", header: `{"__metadata__":{"quantization/a":"min=2"},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`,
			want: `is "min=2", not {"min": M, "scale": S}`},
		{name: "unknown field", header: `{"__metadata__":{"quantization/a":"{\"scale\":2,\"zero\":3}"},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`,
			want: `not {"min": M, "scale": S}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := safetensorsFile(tc.header, codes)
			got, err := load("crafted.safetensors", bytes.NewReader(file), int64(len(file)))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got["a"].Data(), tc.data) {
					t.Errorf("got %v, want %v", got["a"].Data(), tc.data)
				}
				return
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(fmtErr(err), tc.want) {
				t.Errorf("error %v, want an ErrFormat mentioning %q", err, tc.want)
			}
		})
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
