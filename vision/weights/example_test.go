package weights_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"govision.dev/vision/tensor"
	"govision.dev/vision/weights"
)

// Load a state_dict saved by torch.save(model.state_dict(), path) for
// nn.Sequential(Conv2d(2, 3, 3), BatchNorm2d(3), ReLU(), Flatten(),
// Linear(12, 4)).
func ExampleLoad() {
	ts, err := weights.Load("testdata/golden/state_dict.pth")
	if err != nil {
		fmt.Println(err)
		return
	}
	names := make([]string, 0, len(ts))
	for k := range ts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Println(k, ts[k].Shape())
	}
	fmt.Println("batches tracked:", ts["1.num_batches_tracked"].Data()[0])
	// Output:
	// 0.bias [3]
	// 0.weight [3 2 3 3]
	// 1.bias [3]
	// 1.num_batches_tracked []
	// 1.running_mean [3]
	// 1.running_var [3]
	// 1.weight [3]
	// 4.bias [4]
	// 4.weight [4 12]
	// batches tracked: 3
}

// A checkpoint that would run code when unpickled is refused.
func ExampleLoad_refused() {
	_, err := weights.Load("testdata/golden/hostile.pth")
	fmt.Println(errors.Is(err, weights.ErrFormat))
	fmt.Println(err)
	// Output:
	// true
	// weights: testdata/golden/hostile.pth: pickle global posix.system is not allowed (a checkpoint never runs code)
}

func ExampleSave() {
	dir, err := os.MkdirTemp("", "weights")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	w, _ := tensor.FromData([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	path := filepath.Join(dir, "tiny.safetensors")
	if err := weights.Save(path, map[string]*tensor.Tensor{"fc.weight": w}); err != nil {
		fmt.Println(err)
		return
	}
	ts, err := weights.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ts["fc.weight"].Shape(), ts["fc.weight"].Data())
	// Output: [2 3] [1 2 3 4 5 6]
}

// Store a tensor whose values are min + scale·q, q in 0…255, as one byte a
// value; Load gives the same float32 values back.
func ExampleSaveQuantized() {
	dir, err := os.MkdirTemp("", "weights")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	w, _ := tensor.FromData([]int{4}, []float32{-1, -0.5, 0, 126.5})
	q := weights.Quantization{Dtype: "U8", Min: -1, Scale: 0.5} // codes 0, 1, 2, 255
	path := filepath.Join(dir, "q.safetensors")
	if err := weights.SaveQuantized(path, map[string]*tensor.Tensor{"w": w}, map[string]weights.Quantization{"w": q}); err != nil {
		fmt.Println(err)
		return
	}
	ts, err := weights.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ts["w"].Data())
	// Output: [-1 -0.5 0 126.5]
}

func ExampleAllowedGlobals() {
	for _, g := range weights.AllowedGlobals()[:4] {
		fmt.Println(g)
	}
	// Output:
	// collections.OrderedDict
	// torch.BFloat16Storage
	// torch.BoolStorage
	// torch.ByteStorage
}
