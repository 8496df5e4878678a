package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// safetensorsFile assembles a safetensors file from a header and data.
func safetensorsFile(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestSafetensorsCrafted(t *testing.T) {
	data := f32s(binary.LittleEndian, 1, 2, 3, 4)
	for _, tc := range []struct {
		name string
		file []byte
		want string // "" means it must load
	}{
		{name: "ok",
			file: safetensorsFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, data)},
		{name: "padded, metadata, unknown fields, hole",
			file: safetensorsFile(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[12,16],"x":1}}   `, data)},
		{name: "no tensors",
			file: safetensorsFile(`{}`, nil)},
		{name: "header length past the file",
			file: safetensorsFile(`{}`, nil)[:9],
			want: "safetensors header claims 2 bytes, the file has 1"},
		{name: "huge header length",
			file: append([]byte{0, 0, 0, 0, 0, 0, 0, 0x10}, '{', '}'),
			want: "safetensors header claims 1152921504606846976 bytes, more than the"},
		{name: "not an object",
			file: safetensorsFile(`{1:2}`, nil),
			want: "not a JSON object of tensors"},
		{name: "cut json",
			file: safetensorsFile(`{"a":`, nil),
			want: `tensor "a": bad safetensors header entry`},
		{name: "trailing bytes",
			file: safetensorsFile(`{}{}`, nil),
			want: "2 bytes after its JSON object"},
		{name: "past the data",
			file: safetensorsFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[4,20]}}`, data),
			want: `tensor "a": data_offsets [4, 20] outside the 16 data bytes`},
		{name: "reversed offsets",
			file: safetensorsFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}`, data),
			want: `tensor "a": data_offsets [8, 4] outside`},
		{name: "size mismatch",
			file: safetensorsFile(`{"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,16]}}`, data),
			want: `tensor "a": shape [2 2] of F16 needs 8 bytes, data_offsets [0, 16] hold 16`},
		{name: "overlap",
			file: safetensorsFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, data),
			want: `tensor "b": data_offsets [8, 16] overlap those of tensor "a" [0, 12]`},
		{name: "huge shape",
			file: safetensorsFile(`{"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}}`, data),
			want: `tensor "a": shape [1099511627776 1099511627776] is negative or larger than the file`},
		{name: "negative shape",
			file: safetensorsFile(`{"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}`, data),
			want: `tensor "a": shape [-4] is negative`},
		{name: "unknown dtype",
			file: safetensorsFile(`{"a":{"dtype":"F8_E4M3","shape":[16],"data_offsets":[0,16]}}`, data),
			want: `tensor "a": dtype "F8_E4M3" is not supported`},
		{name: "fractional shape",
			file: safetensorsFile(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,16]}}`, data),
			want: `tensor "a": bad safetensors header entry`},
		{name: "three offsets",
			file: safetensorsFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8,16]}}`, data),
			want: `tensor "a": data_offsets has 3 values, want 2`},
		{name: "duplicate name",
			file: safetensorsFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data),
			want: `tensor "a": named twice`},
		{name: "bad metadata",
			file: safetensorsFile(`{"__metadata__":{"n":1}}`, nil),
			want: `__metadata__ is not an object of strings`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := load("crafted.safetensors", bytes.NewReader(tc.file), int64(len(tc.file)))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.name == "ok" && (got["a"].Data()[1] != 4 || got["b"].Data()[0] != 1) {
					t.Errorf("got a=%v b=%v", got["a"].Data(), got["b"].Data())
				}
				return
			}
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("%v does not wrap ErrFormat", err)
			}
			if !strings.HasPrefix(err.Error(), "weights: crafted.safetensors: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not start \"weights: crafted.safetensors: \" and mention %q", err, tc.want)
			}
		})
	}
}
