package weights

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"govision.dev/vision/tensor"
)

// Quantized safetensors: TensorFlow.js's affine quantization (see
// LoadTFJS) kept in a safetensors file. A quantized tensor is stored as
// its integer codes q, dtype U8 or U16, and the file's __metadata__ holds,
// under the key "quantization/" + the tensor's name, a JSON object giving
// its min and scale as decimal float64 numbers (min may be left out: 0):
//
//	"__metadata__": {"quantization/conv0.weight": "{\"min\":-0.341,\"scale\":0.00268}"},
//	"conv0.weight": {"dtype": "U8", "shape": [16, 3, 3, 3], "data_offsets": [0, 432]}
//
// Load reads such a tensor as float32(min + scale·q), computed in float64
// exactly as LoadTFJS reads the same codes from a manifest, so a tfjs
// model converted this way loads to the same bits at a quarter of the
// float32 size. Other readers see the codes and the metadata.

// quantizationKey prefixes a quantized tensor's name in __metadata__.
const quantizationKey = "quantization/"

// Quantization is how a tensor is stored as integer codes: value =
// Min + Scale·q, q an unsigned integer of dtype Dtype ("U8" or "U16",
// safetensors' names for uint8 and uint16), the linear quantization of
// TensorFlow.js (its scale-only form is Min 0).
type Quantization struct {
	Dtype      string
	Min, Scale float64
}

// quantDtypes are the dtypes codes may have, with their largest code.
var quantDtypes = map[string]struct {
	dt  dtype
	max float64
}{"U8": {dtU8, math.MaxUint8}, "U16": {dtU16, math.MaxUint16}}

// quantMeta is the JSON of a quantization/NAME metadata value.
type quantMeta struct {
	Min   *float64 `json:"min,omitempty"`
	Scale *float64 `json:"scale"`
}

// parseQuantization reads the quantization/NAME entries of a safetensors
// __metadata__ (others are ignored) and checks each against the tensor it
// names.
func parseQuantization(name string, meta map[string]string, infos []*tensorInfo) (map[string]Quantization, error) {
	byName := map[string]*tensorInfo{}
	for _, ti := range infos {
		byName[ti.name] = ti
	}
	out := map[string]Quantization{}
	for k, v := range meta {
		tn, ok := strings.CutPrefix(k, quantizationKey)
		if !ok {
			continue
		}
		ti := byName[tn]
		if ti == nil {
			return nil, formatErr(name, tn, "__metadata__ %q quantizes a tensor the file does not hold", k)
		}
		if _, ok := quantDtypes[ti.Dtype]; !ok {
			return nil, formatErr(name, tn, "quantized, but stored as %s: want U8 or U16 codes", ti.Dtype)
		}
		var m quantMeta
		dec := json.NewDecoder(strings.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil || dec.More() {
			return nil, formatErr(name, tn, "__metadata__ %q is %q, not {\"min\": M, \"scale\": S}", k, v)
		}
		q := Quantization{Dtype: ti.Dtype}
		if m.Scale == nil {
			return nil, formatErr(name, tn, "__metadata__ %q has no scale", k)
		}
		q.Scale = *m.Scale
		if m.Min != nil {
			q.Min = *m.Min
		}
		if !finite(q.Scale) || !finite(q.Min) {
			return nil, formatErr(name, tn, "quantization min %g, scale %g: want finite numbers", q.Min, q.Scale)
		}
		out[tn] = q
	}
	return out, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// dequantize turns codes, read as float32 integers, into their values:
// Min + Scale·q in float64, rounded to float32 (as LoadTFJS).
func (q Quantization) dequantize(codes []float32) {
	for i, c := range codes {
		codes[i] = float32(float64(c)*q.Scale + q.Min)
	}
}

// codes returns the integer codes whose values are t's: for each value v,
// the q in 0…max with float32(Min + Scale·q) == v. A value that is no
// such code's (NaN included) is an error.
func (q Quantization) codes(t *tensor.Tensor) ([]uint16, error) {
	qd, ok := quantDtypes[q.Dtype]
	if !ok {
		return nil, fmt.Errorf("quantization dtype %q: want U8 or U16", q.Dtype)
	}
	if !finite(q.Min) || !finite(q.Scale) {
		return nil, fmt.Errorf("quantization min %g, scale %g: want finite numbers", q.Min, q.Scale)
	}
	out := make([]uint16, t.Len())
	for i, v := range t.Data() {
		c := 0.0
		if q.Scale != 0 {
			c = math.Round((float64(v) - q.Min) / q.Scale)
		}
		if !(c >= 0 && c <= qd.max) || float32(c*q.Scale+q.Min) != v {
			return nil, fmt.Errorf("value %d, %g, is not %g + %g·q for an integer q in 0…%g", i, v, q.Min, q.Scale, qd.max)
		}
		out[i] = uint16(c)
	}
	return out, nil
}

// metadata returns the __metadata__ value recording q.
func (q Quantization) metadata() string {
	b, _ := json.Marshal(quantMeta{Min: &q.Min, Scale: &q.Scale}) // finite: always marshals
	return string(b)
}

// TFJSQuantization returns how a TensorFlow.js manifest stores its
// quantized float32 tensors, by name: uint8 and uint16 codes as "U8" and
// "U16" with the manifest's min (0 when absent) and scale. Unquantized
// tensors, float16 ones and quantized int32 ones are left out. Save the
// manifest's tensors with SaveQuantized and these (renamed as needed) to
// keep the codes. Errors are LoadTFJS's, for the manifest alone.
func TFJSQuantization(manifest string) (map[string]Quantization, error) {
	b, err := readLimited(manifest)
	if err != nil {
		return nil, err
	}
	var groups []tfjsGroup
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&groups); err != nil {
		return nil, formatErr(manifest, "", "not a TensorFlow.js weights manifest: %v", err)
	}
	out := map[string]Quantization{}
	for _, g := range groups {
		for _, w := range g.Weights {
			if _, _, err := tfjsStored(w); err != nil {
				return nil, formatErr(manifest, w.Name, "%s", err)
			}
			q := w.Quantization
			if q == nil || q.Scale == nil || w.Dtype != "float32" {
				continue
			}
			r := Quantization{Dtype: "U8", Scale: *q.Scale}
			if q.Dtype == "uint16" {
				r.Dtype = "U16"
			}
			if q.Min != nil {
				r.Min = *q.Min
			}
			out[w.Name] = r
		}
	}
	return out, nil
}
