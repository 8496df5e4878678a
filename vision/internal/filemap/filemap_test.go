package filemap

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestMapRelease maps a file of float32 values, reads them through
// Floats, releases them, and checks that the values survive — those
// written through the mapping too — that the file never changes, and, on
// Linux, that the released pages left the process's resident memory.
func TestMapRelease(t *testing.T) {
	const n = 4 << 20 // 16 MiB of values
	raw := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(i)))
	}
	path := filepath.Join(t.TempDir(), "values")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := Map(f, int64(len(raw)))
	if err != nil {
		t.Skipf("no mapping here: %v", err)
	}
	v, ok := Floats(b, 0, n)
	if !ok {
		t.Fatal("Floats refused an aligned, little-endian mapping")
	}
	if !Contains(v) || !Contains(v[10:20]) || Contains(make([]float32, 8)) {
		t.Fatal("Contains does not tell the mapping from the heap")
	}
	sum := 0.0
	for _, x := range v {
		sum += float64(x)
	}
	if sum == 0 {
		t.Fatal("no values")
	}
	before := residentFile(t)
	v[1] = -1 // a written page: kept
	Release(v)
	after := residentFile(t)
	for i, x := range v {
		want := float32(i)
		if i == 1 {
			want = -1
		}
		if x != want {
			t.Fatalf("v[%d] = %v after Release, want %v", i, x, want)
		}
	}
	if got, _ := os.ReadFile(path); string(got) != string(raw) {
		t.Fatal("writing through the mapping changed the file")
	}
	if runtime.GOOS == "linux" && before >= 0 && after >= 0 {
		t.Logf("file-backed resident memory: %d KiB before Release, %d KiB after", before, after)
		if before-after < 8<<10 {
			t.Logf("Release did not drop the pages (a kernel before 5.4 has no MADV_PAGEOUT)")
		}
	}
	Release(make([]float32, 4096)) // heap memory: nothing happens
}

// residentFile is the process's file-backed resident memory in KiB, or -1
// where /proc does not say.
func residentFile(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "RssFile:" {
			if kb, err := strconv.Atoi(f[1]); err == nil {
				return kb
			}
		}
	}
	return -1
}
