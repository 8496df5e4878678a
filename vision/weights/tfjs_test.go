package weights

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"govision.dev/vision/tensor"
)

// tfjsShard is the shard the manifests of these tests describe: a
// float32 [2, 2] (1, -2, 3.5, 0), an int32 [3] (7, -1, 42), uint8 codes
// (0, 1, 255), uint16 codes (0, 2, 65535), float16 halves (1, -0.5) and a
// bool [2] (1, 0), in that order.
var tfjsShard = func() []byte {
	var b []byte
	for _, v := range []float32{1, -2, 3.5, 0} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	for _, v := range []int32{7, -1, 42} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	b = append(b, 0, 1, 255)
	for _, v := range []uint16{0, 2, 65535} {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	b = binary.LittleEndian.AppendUint16(b, 0x3c00) // 1
	b = binary.LittleEndian.AppendUint16(b, 0xb800) // -0.5
	return append(b, 1, 0)
}()

const tfjsManifest = `[{"paths": ["a.bin", "b.bin"], "weights": [
 {"name": "f", "shape": [2, 2], "dtype": "float32"},
 {"name": "i", "shape": [3], "dtype": "int32"},
 {"name": "q8", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}},
 {"name": "q16", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": 0.25}},
 {"name": "h", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}},
 {"name": "b", "shape": [2], "dtype": "bool"}
]}]`

// writeTFJS writes the manifest and tfjsShard, split in two at byte 10,
// into a temporary folder and returns the manifest's path.
func writeTFJS(t *testing.T, manifest string, shard []byte) string {
	t.Helper()
	dir := t.TempDir()
	split := min(10, len(shard))
	for name, b := range map[string][]byte{"m.json": []byte(manifest), "a.bin": shard[:split], "b.bin": shard[split:]} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "m.json")
}

func TestLoadTFJS(t *testing.T) {
	// The values tfjs-core's decodeWeights gives: stored values as they
	// are, q·scale + min for the quantized ones.
	want := map[string]struct {
		shape []int
		data  []float32
	}{
		"f":   {[]int{2, 2}, []float32{1, -2, 3.5, 0}},
		"i":   {[]int{3}, []float32{7, -1, 42}},
		"q8":  {[]int{3}, []float32{-1, -0.5, 126.5}},
		"q16": {[]int{3}, []float32{0, 0.5, 16383.75}},
		"h":   {[]int{2}, []float32{1, -0.5}},
		"b":   {[]int{2}, []float32{1, 0}},
	}
	path := writeTFJS(t, tfjsManifest, tfjsShard)
	check := func(t *testing.T, got map[string]*tensor.Tensor, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("got %d tensors, want %d", len(got), len(want))
		}
		for name, w := range want {
			g := got[name]
			if g == nil {
				t.Fatalf("tensor %q missing", name)
			}
			if !slices.Equal(g.Shape(), w.shape) || !slices.Equal(g.Data(), w.data) {
				t.Errorf("%s: got %v %v, want %v %v", name, g.Shape(), g.Data(), w.shape, w.data)
			}
		}
	}
	t.Run("LoadTFJS", func(t *testing.T) {
		got, err := LoadTFJS(path)
		check(t, got, err)
	})
	t.Run("Load sniffs the manifest", func(t *testing.T) {
		got, err := Load(path)
		check(t, got, err)
	})
	t.Run("LoadFS", func(t *testing.T) {
		fsys := fstest.MapFS{
			"m/m.json": {Data: []byte(tfjsManifest)},
			"m/a.bin":  {Data: tfjsShard[:10]},
			"m/b.bin":  {Data: tfjsShard[10:]},
		}
		got, err := LoadFS(fsys, "m/m.json")
		check(t, got, err)
	})
}

func TestLoadTFJSErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest string
		shard    []byte
		want     string
	}{
		{"shard too short", tfjsManifest, tfjsShard[:len(tfjsShard)-1], "hold 42 bytes, its weights take 43"},
		{"shard too long", tfjsManifest, append(slices.Clone(tfjsShard), 0), "longer than the 43 bytes"},
		{"missing shard", strings.Replace(tfjsManifest, `"b.bin"`, `"c.bin"`, 1), tfjsShard, "shard c.bin"},
		{"shard outside the folder", strings.Replace(tfjsManifest, `"b.bin"`, `"../b.bin"`, 1), tfjsShard, "leaves the manifest's folder"},
		{"unknown dtype", strings.Replace(tfjsManifest, `"dtype": "bool"`, `"dtype": "complex64"`, 1), tfjsShard, `tensor "b": unknown dtype "complex64"`},
		{"unknown quantization", strings.Replace(tfjsManifest, `"dtype": "uint16"`, `"dtype": "uint4"`, 1), tfjsShard, `tensor "q16": unknown quantization dtype "uint4"`},
		{"uint8 without scale", strings.Replace(tfjsManifest, `"scale": 0.5, `, ``, 1), tfjsShard, `tensor "q8": uint8 quantization without a scale`},
		{"negative shape", strings.Replace(tfjsManifest, `[2, 2]`, `[-2, -2]`, 1), tfjsShard, `tensor "f": shape [-2 -2]`},
		{"huge shape", strings.Replace(tfjsManifest, `[2, 2]`, `[65536, 65536, 65536]`, 1), tfjsShard, `tensor "f": shape`},
		{"duplicate name", strings.Replace(tfjsManifest, `"name": "i"`, `"name": "f"`, 1), tfjsShard, `tensor "f": named twice`},
		{"not json", `[{"paths": `, tfjsShard, "not a TensorFlow.js weights manifest"},
		{"unknown field", strings.Replace(tfjsManifest, `"paths"`, `"pathz"`, 1), tfjsShard, "not a TensorFlow.js weights manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTFJS(t, tc.manifest, tc.shard)
			_, err := LoadTFJS(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %v does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q: want it to name %s and say %q", err, path, tc.want)
			}
		})
	}
}

// FuzzLoadTFJS feeds manifests to the parser with tfjsShard as every
// shard: it must return tensors or an ErrFormat, never panic, and never
// make more values than the shards hold.
func FuzzLoadTFJS(f *testing.F) {
	f.Add([]byte(tfjsManifest))
	f.Add([]byte(`[{"paths": ["x"], "weights": [{"name": "a", "shape": [1], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 1, "min": 0, "original_dtype": "float32"}}]}]`))
	f.Fuzz(func(t *testing.T, manifest []byte) {
		var shardBytes int
		ts, err := parseTFJS("fuzz.json", manifest, func(string) ([]byte, error) {
			shardBytes += len(tfjsShard)
			return tfjsShard, nil
		})
		checkLoaded(t, ts, err, shardBytes)
	})
}
