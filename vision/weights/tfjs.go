package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"

	"govision.dev/vision/tensor"
)

// TensorFlow.js weights: a manifest, model-weights_manifest.json, a JSON
// array of groups, each naming its binary shards (paths, relative to the
// manifest's folder) and the tensors they hold, one after the other in
// the shards' concatenation, in the manifest's order:
//
//	[{"paths": ["model.bin"],
//	  "weights": [{"name": "conv0/filters", "shape": [3, 3, 3, 16], "dtype": "float32",
//	               "quantization": {"dtype": "uint8", "scale": 0.009, "min": -1.2}}, …]}]
//
// This is the format of tfjs-converter (tensorflowjs/write_weights.py and
// tfjs-core/src/io/io_utils.ts: decodeWeights). Values are little-endian.
// A quantized tensor is stored as uint8 or uint16 codes q and read as
// min + scale·q (a missing min is 0: the scale-only form), or as float16
// halves ("float16" quantization, no scale).

// maxManifest bounds a manifest's size; face-api's largest is 28 KB.
const maxManifest = 16 << 20

// maxTFJSValues bounds the values a manifest may declare (4 Gi float32:
// 16 GiB), before any shard is read; shards must hold them anyway.
const maxTFJSValues = 1 << 32

type tfjsGroup struct {
	Paths   []string     `json:"paths"`
	Weights []tfjsWeight `json:"weights"`
}

type tfjsWeight struct {
	Name         string            `json:"name"`
	Shape        []int64           `json:"shape"`
	Dtype        string            `json:"dtype"`
	Quantization *tfjsQuantization `json:"quantization"`
}

type tfjsQuantization struct {
	Dtype string   `json:"dtype"`
	Scale *float64 `json:"scale"`
	Min   *float64 `json:"min"`
	// OriginalDtype is the dtype before quantization; float32 when absent.
	OriginalDtype string `json:"original_dtype"`
}

// tfjsDtypes are the stored dtypes of unquantized tensors.
var tfjsDtypes = map[string]dtype{"float32": dtF32, "int32": dtI32, "bool": dtBool}

// LoadTFJS reads every tensor of a TensorFlow.js weights manifest and its
// binary shards, which are looked for in the manifest's folder. Tensors
// keep the manifest's names and shapes (TensorFlow's layouts: a conv2d
// filter is [KH, KW, InC, OutC], a depthwise one [KH, KW, C, 1]) and come
// back as float32: float32 and int32 (and bool, as 0 and 1) as stored,
// uint8 and uint16 quantized tensors as min + scale·q, float16 ones
// converted. A missing shard, shards shorter or longer than the manifest
// says, an unknown dtype or a malformed manifest is an error wrapping
// ErrFormat that names the file and the tensor.
func LoadTFJS(manifest string) (map[string]*tensor.Tensor, error) {
	dir := filepath.Dir(manifest)
	b, err := readLimited(manifest)
	if err != nil {
		return nil, err
	}
	return parseTFJS(manifest, b, func(p string) ([]byte, error) {
		if filepath.IsAbs(p) || !filepath.IsLocal(filepath.FromSlash(p)) {
			return nil, fmt.Errorf("shard path %q leaves the manifest's folder", p)
		}
		return os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
	})
}

// readLimited reads a manifest, refusing one over maxManifest.
func readLimited(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if len(b) > maxManifest {
		return nil, formatErr(file, "", "manifest larger than %d bytes", maxManifest)
	}
	return b, nil
}

// LoadFS reads a weight file from fsys: safetensors, a PyTorch checkpoint
// or a TensorFlow.js manifest (its shards also from fsys), told by the
// content as Load does. It is how a package reads weights it embeds.
func LoadFS(fsys fs.FS, name string) (map[string]*tensor.Tensor, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if isManifest(b) {
		dir := path.Dir(name)
		return parseTFJS(name, b, func(p string) ([]byte, error) {
			return fs.ReadFile(fsys, path.Join(dir, p))
		})
	}
	return load(name, bytes.NewReader(b), int64(len(b)))
}

// isManifest reports whether a file's first bytes look like a JSON array,
// as a TensorFlow.js manifest is; no other format Load reads starts so.
func isManifest(head []byte) bool {
	s := bytes.TrimLeft(head, " \t\r\n\ufeff")
	return len(s) > 0 && s[0] == '['
}

// parseTFJS decodes the manifest b (named name in errors), reading each
// shard through shard.
func parseTFJS(name string, b []byte, shard func(path string) ([]byte, error)) (map[string]*tensor.Tensor, error) {
	var groups []tfjsGroup
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&groups); err != nil {
		return nil, formatErr(name, "", "not a TensorFlow.js weights manifest: %v", err)
	}
	if dec.More() {
		return nil, formatErr(name, "", "data after the manifest's JSON array")
	}
	out := map[string]*tensor.Tensor{}
	var total int64
	for g, grp := range groups {
		// Check the whole group before reading its shards.
		var need int64
		for _, w := range grp.Weights {
			if w.Name == "" {
				return nil, formatErr(name, "", "group %d: a weight with no name", g)
			}
			if _, dup := out[w.Name]; dup {
				return nil, formatErr(name, w.Name, "named twice")
			}
			_, size, err := tfjsStored(w)
			if err != nil {
				return nil, formatErr(name, w.Name, "%s", err)
			}
			n, ok := numel(w.Shape, maxTFJSValues)
			if !ok || total+n > maxTFJSValues {
				return nil, formatErr(name, w.Name, "shape %v: negative or too large", w.Shape)
			}
			total += n
			need += n * int64(size)
			out[w.Name] = nil // reserves the name
		}
		if len(grp.Paths) == 0 && need > 0 {
			return nil, formatErr(name, "", "group %d holds %d bytes of weights but names no shard", g, need)
		}
		var data []byte
		for _, p := range grp.Paths {
			s, err := shard(p)
			if err != nil {
				return nil, formatErr(name, "", "group %d: shard %s: %v", g, p, err)
			}
			if int64(len(data))+int64(len(s)) > need {
				return nil, formatErr(name, "", "group %d: shards longer than the %d bytes its weights take (through %s)", g, need, p)
			}
			data = append(data, s...)
		}
		if int64(len(data)) != need {
			return nil, formatErr(name, "", "group %d: shards %s hold %d bytes, its weights take %d", g, strings.Join(grp.Paths, ", "), len(data), need)
		}
		for _, w := range grp.Weights {
			dt, size, _ := tfjsStored(w)
			n, _ := numel(w.Shape, maxTFJSValues)
			t := tensor.New(intsOf(w.Shape)...)
			dt.decode(t.Data(), data[:n*int64(size)], binary.LittleEndian)
			if q := w.Quantization; q != nil && q.Scale != nil {
				// As decodeWeights: v·scale + min in float64, rounded to
				// float32 (to the nearest integer for an int32 tensor).
				scale, lo := *q.Scale, 0.0
				if q.Min != nil {
					lo = *q.Min
				}
				for i, v := range t.Data() {
					x := float64(v)*scale + lo
					if w.Dtype == "int32" {
						x = math.Floor(x + 0.5) // JavaScript's Math.round
					}
					t.Data()[i] = float32(x)
				}
			}
			data = data[n*int64(size):]
			out[w.Name] = t
		}
	}
	return out, nil
}

// tfjsStored returns how a manifest entry is stored: the element type
// read from the shard (before any scale is applied) and its size.
func tfjsStored(w tfjsWeight) (dtype, int, error) {
	if q := w.Quantization; q != nil {
		if w.Dtype != "float32" && w.Dtype != "int32" {
			return dtype{}, 0, fmt.Errorf("dtype %q cannot be quantized", w.Dtype)
		}
		if q.OriginalDtype != "" && q.OriginalDtype != w.Dtype {
			return dtype{}, 0, fmt.Errorf("quantization of a %s tensor from original_dtype %q", w.Dtype, q.OriginalDtype)
		}
		switch q.Dtype {
		case "uint8":
			if q.Scale == nil {
				return dtype{}, 0, fmt.Errorf("uint8 quantization without a scale")
			}
			return dtU8, 1, nil
		case "uint16":
			if q.Scale == nil {
				return dtype{}, 0, fmt.Errorf("uint16 quantization without a scale")
			}
			return dtU16, 2, nil
		case "float16":
			if q.Scale != nil || q.Min != nil {
				return dtype{}, 0, fmt.Errorf("float16 quantization with a scale or min")
			}
			return dtF16, 2, nil
		}
		return dtype{}, 0, fmt.Errorf("unknown quantization dtype %q (want uint8, uint16 or float16)", q.Dtype)
	}
	dt, ok := tfjsDtypes[w.Dtype]
	if !ok {
		return dtype{}, 0, fmt.Errorf("unknown dtype %q (want float32, int32 or bool)", w.Dtype)
	}
	return dt, dt.size, nil
}
