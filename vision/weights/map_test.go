package weights

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMap checks that Map gives Load's tensors, bit for bit, and Load's
// error, on every fixture; and that writing to a mapped tensor changes
// neither the file nor a later Map of it.
func TestMap(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, werr := Load(path)
			got, gerr := Map(path)
			if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
				t.Fatalf("Map error %v, Load error %v", gerr, werr)
			}
			if len(got) != len(want) {
				t.Fatalf("Map read %d tensors, Load %d", len(got), len(want))
			}
			for name, w := range want {
				g := got[name]
				if g == nil || !slices.Equal(g.Shape(), w.Shape()) || !sameBits(g.Data(), w.Data()) {
					t.Fatalf("tensor %q differs", name)
				}
			}
		})
	}

	// A written tensor: the file is unchanged.
	dir := t.TempDir()
	path := filepath.Join(dir, "m.pth")
	orig, err := os.ReadFile(filepath.Join("testdata", "golden", "state_dict.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := Map(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		for i := range x.Data() {
			x.Data()[i] = 42
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, orig) {
		t.Fatal("writing to mapped tensors changed the file")
	}
	again, err := Map(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Load(path)
	for name, w := range want {
		if !sameBits(again[name].Data(), w.Data()) {
			t.Fatalf("tensor %q: a second Map sees another mapping's writes", name)
		}
	}
}

func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
