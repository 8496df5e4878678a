package weights

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"govision.dev/vision/tensor"
)

// writeSafetensors saves about size bytes of float32 tensors of 1 MiB
// each, with random values, to dir, and returns the file's path.
func writeSafetensors(tb testing.TB, dir string, size int) string {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	ts := map[string]*tensor.Tensor{}
	for i := range max(1, size>>20) {
		data := make([]float32, 256*1024)
		for j := range data {
			data[j] = float32(rng.NormFloat64())
		}
		t, err := tensor.FromData([]int{256, 1024}, data)
		if err != nil {
			tb.Fatal(err)
		}
		ts[fmt.Sprintf("layer%d.weight", i)] = t
	}
	path := filepath.Join(dir, "big.safetensors")
	if err := Save(path, ts); err != nil {
		tb.Fatal(err)
	}
	return path
}

// torchPython is Debian's interpreter, which has python3-torch; the first
// python3 on PATH may not.
const torchPython = "/usr/bin/python3"

// writeTorch has PyTorch save about size bytes of float32 tensors of 1 MiB
// each (one of them transposed, so it is materialised by a copy) as a
// state_dict in dir, and returns the file's path. It skips tb if torch is
// not there.
func writeTorch(tb testing.TB, dir string, size int) string {
	tb.Helper()
	path := filepath.Join(dir, "big.pth")
	script := `
import sys, torch
torch.manual_seed(0)
n = int(sys.argv[2])
sd = {"layer%d.weight" % i: torch.randn(256, 1024) for i in range(n)}
sd["layer0.weight"] = sd["layer0.weight"].t()
sd["bn.num_batches_tracked"] = torch.tensor(7)
torch.save(sd, sys.argv[1])
`
	cmd := exec.Command(torchPython, "-c", script, path, fmt.Sprint(max(1, size>>20)))
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Skipf("no PyTorch to write a checkpoint (%s -c 'import torch'): %v\n%s", torchPython, err, out)
	}
	return path
}

// TestPeakMemory checks that loading a ~20 MB float32 file allocates in
// all (runtime.MemStats.TotalAlloc, which bounds the peak) less than twice
// the file's size.
func TestPeakMemory(t *testing.T) {
	const size = 20 << 20
	for _, kind := range []string{"safetensors", "torch"} {
		t.Run(kind, func(t *testing.T) {
			var path string
			if kind == "safetensors" {
				path = writeSafetensors(t, t.TempDir(), size)
			} else {
				if testing.Short() {
					t.Skip("runs Python; skipped in -short mode")
				}
				path = writeTorch(t, t.TempDir(), size)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			ts, err := Load(path)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			ratio := float64(alloc) / float64(st.Size())
			t.Logf("file %d bytes, %d tensors, allocated %d bytes (%.3f× the file)", st.Size(), len(ts), alloc, ratio)
			if ratio >= 2 {
				t.Errorf("loading allocated %.2f× the file's size, want < 2", ratio)
			}
			runtime.KeepAlive(ts)
		})
	}
}
