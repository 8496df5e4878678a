package nn_test

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

func ExampleSequential() {
	// conv → bn → relu → pool → flatten, named "0" … "4" as in torch. The
	// convolution, the batch norm and the ReLU run as one fused pass.
	rng := rand.New(rand.NewPCG(1, 2))
	conv := nn.NewConv2d(1, 2, nn.Kernel(3), nn.ConvOptions{Padding: nn.Padding(1), NoBias: true}, rng)
	// Channel 0 sums its 3x3 window, channel 1 takes the centre negated.
	for i := range conv.Weight.Data() {
		conv.Weight.Data()[i] = 0
		if i < 9 {
			conv.Weight.Data()[i] = 1
		}
	}
	conv.Weight.Data()[9+4] = -1
	bn := nn.NewBatchNorm2d(2)
	bn.Bias.Data()[1] = 10 // shift channel 1 up before the ReLU
	nn.Refresh(bn)         // fold the changed statistics
	model := nn.NewSequential(conv, bn, nn.ReLU{}, nn.NewMaxPool2d(nn.Kernel(2), nn.PoolOptions{}), nn.NewFlatten())

	x, _ := tensor.FromData([]int{1, 1, 4, 4}, []float32{
		0, 1, 2, 3,
		4, 5, 6, 7,
		8, 9, 10, 11,
		12, 13, 14, 15,
	})
	y, err := model.Forward(x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y.Shape())
	fmt.Printf("%.2f\n", y.Data())
	for _, e := range nn.Walk(model) {
		fmt.Println(e.Name, e.Tensor.Shape())
	}
	// Output:
	// [1 8]
	// [45.00 54.00 81.00 90.00 10.00 8.00 2.00 0.00]
	// 0.weight [2 1 3 3]
	// 1.weight [2]
	// 1.bias [2]
	// 1.running_mean [2]
	// 1.running_var [2]
	// 1.num_batches_tracked []
}

func ExampleLoadStateDict() {
	rng := rand.New(rand.NewPCG(1, 2))
	newModel := func() *nn.Sequential {
		return nn.NewSequential(
			nn.NewConv2d(3, 8, nn.Kernel(3), nn.ConvOptions{Padding: nn.Padding(1), NoBias: true}, rng),
			nn.NewBatchNorm2d(8),
			nn.ReLU{},
		)
	}
	trained, model := newModel(), newModel()

	// A checkpoint from another architecture: strict loading names every
	// tensor that does not fit, and changes nothing.
	sd := map[string]*tensor.Tensor{}
	for name, t := range nn.StateDict(trained) {
		sd[name] = t.Clone()
	}
	delete(sd, "1.running_var")
	sd["0.weight"] = tensor.New(8, 3, 5, 5)
	sd["2.weight"] = tensor.New(8)
	err := nn.LoadStateDict(model, sd)
	fmt.Println(errors.Is(err, nn.ErrStateDict))
	fmt.Println(err)

	// The lenient form loads what fits and reports the rest.
	r := nn.LoadStateDictLenient(model, sd)
	fmt.Println(r.Missing, r.Unexpected, len(r.Mismatched))

	// The trained model's own state dict fits. num_batches_tracked is
	// optional: older checkpoints lack it.
	sd = nn.StateDict(trained)
	delete(sd, "1.num_batches_tracked")
	fmt.Println(nn.LoadStateDict(model, sd))
	// Output:
	// true
	// nn: state dict does not fit the model: missing 1: 1.running_var; unexpected 1: 2.weight; wrong shape 1: 0.weight (model [8 3 3 3], state dict [8 3 5 5])
	// [1.running_var] [2.weight] 1
	// <nil>
}

func ExampleMaxUnpool2d() {
	// SegNet's decoder: unpool with the encoder's pooling indices.
	x, _ := tensor.FromData([]int{1, 1, 2, 4}, []float32{
		1, 5, 2, 0,
		3, 4, 8, 7,
	})
	pooled, ind, _ := nn.NewMaxPool2d(nn.Kernel(2), nn.PoolOptions{}).ForwardIndices(x)
	fmt.Println(pooled.Data(), ind.Data)
	y, _ := nn.NewMaxUnpool2d(nn.Kernel(2), [2]int{}, [2]int{}).Forward(pooled, ind, nil)
	fmt.Println(y.Data())
	// Output:
	// [5 8] [1 6]
	// [0 5 0 0 0 0 8 0]
}

func ExampleInterpolate() {
	x, _ := tensor.FromData([]int{1, 1, 2, 2}, []float32{
		0, 1,
		2, 3,
	})
	near, _ := nn.Interpolate(x, nn.InterpolateOptions{ScaleFactor: [2]float64{2, 2}})
	fmt.Println(near.Data()[:4])
	lin, _ := nn.Interpolate(x, nn.InterpolateOptions{Size: [2]int{3, 3}, Mode: nn.Bilinear, AlignCorners: true})
	fmt.Println(lin.Data())
	// Output:
	// [0 0 1 1]
	// [0 0.5 1 1 1.5 2 2 2.5 3]
}

func ExampleConcat() {
	// Inception: branches joined along the channels.
	a, _ := tensor.FromData([]int{1, 1, 1, 2}, []float32{1, 2})
	b, _ := tensor.FromData([]int{1, 2, 1, 2}, []float32{3, 4, 5, 6})
	y, _ := nn.Concat(a, b)
	fmt.Println(y.Shape(), y.Data())
	// Output:
	// [1 3 1 2] [1 2 3 4 5 6]
}

func ExampleConvTranspose2d() {
	// A 2x2 stride-2 transposed convolution of ones: each input value
	// becomes a 2x2 block.
	up := nn.NewConvTranspose2d(1, 1, nn.Kernel(2), nn.ConvTransposeOptions{Stride: nn.Stride(2), NoBias: true},
		rand.New(rand.NewPCG(1, 2)))
	for i := range up.Weight.Data() {
		up.Weight.Data()[i] = 1
	}
	x, _ := tensor.FromData([]int{1, 1, 1, 2}, []float32{1, 2})
	y, _ := up.Forward(x)
	fmt.Println(y.Shape(), y.Data())
	// Output:
	// [1 1 2 4] [1 1 2 2 1 1 2 2]
}
