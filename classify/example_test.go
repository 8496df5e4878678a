package classify_test

import (
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"

	"govision.dev/classify"
	"govision.dev/vision/autograd"
	"govision.dev/vision/imageio"
	"govision.dev/vision/tensor"
)

func ExampleNew() {
	m, err := classify.New("resnet50")
	if err != nil {
		fmt.Println(err)
		return
	}
	w := m.Weights()
	fmt.Println(m.Classes(), w.File, w.Preprocess.Size(), w.Top1)
	// Then: m.Load(path to resnet50-0676ba61.pth).
	// Output: 1000 resnet50-0676ba61.pth 224 76.13
}

func ExampleNew_unknown() {
	_, err := classify.New("resnet5O")
	fmt.Println(err)
	// Output: classify: unknown model "resnet5O"; did you mean resnet50, resnet56?
}

func ExampleDescribe() {
	info, err := classify.Describe("resnet50")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d parameters, %.2f GFLOPs at %d×%d\n", info.Name, info.Params,
		float64(info.MACs)/1e9, info.Weights.Preprocess.Size(), info.Weights.Preprocess.Size())
	// Output: resnet50: 25557032 parameters, 4.09 GFLOPs at 224×224
}

func ExampleModel_Forward() {
	m, err := classify.New("resnet20") // CIFAR-10
	if err != nil {
		fmt.Println(err)
		return
	}
	logits, err := m.Forward(tensor.New(4, 3, 32, 32))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(logits.Shape())
	_, err = m.Forward(tensor.New(4, 1, 32, 32))
	fmt.Println(err != nil)
	// Output:
	// [4 10]
	// true
}

func ExampleModel_Predict() {
	m, err := classify.New("lenet5")
	if err != nil {
		fmt.Println(err)
		return
	}
	// A white bar on black, as MNIST draws its digits.
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := 4; y < 24; y++ {
		img.SetGray(14, y, color.Gray{Y: 255})
	}
	top, err := m.Predict(img, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(top), top[0].Prob >= top[1].Prob)
	// Output: 3 true
}

func ExampleModel_LoadEmbedded() {
	m, err := classify.New("lenet5")
	if err != nil {
		fmt.Println(err)
		return
	}
	// LeNet-5 trained on MNIST by govision, built into the package.
	if err := m.LoadEmbedded(); err != nil {
		fmt.Println(err)
		return
	}
	img, err := imageio.DecodeFile("testdata/digits/3_idx0018.png") // MNIST's test digit 18
	if err != nil {
		fmt.Println(err)
		return
	}
	top, err := m.Predict(img, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(top[0].Label)
	// Output: 3
}

func ExampleRegisterLeNet5() {
	m, err := classify.New("lenet5")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := m.Init(rand.New(rand.NewPCG(1, 2))); err != nil { // a run's seed
		fmt.Println(err)
		return
	}
	net := autograd.NewNet(m.Net())
	classify.RegisterLeNet5(net)
	batch := tensor.New(2, 1, 32, 32) // two blank digits, labelled 0 and 1
	logits, err := net.Forward(autograd.Constant(batch))
	if err != nil {
		fmt.Println(err)
		return
	}
	loss, err := autograd.CrossEntropy(logits, []int{0, 1}, autograd.ClassLoss{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := loss.Backward(); err != nil {
		fmt.Println(err)
		return
	}
	// An optimizer (vision/optim) would now step net.Params().
	fmt.Println(logits.Shape(), len(net.Params()), net.Params()[0].Name, net.Params()[0].Var.Grad().Shape())
	// Output: [2 10] 42 c1.weight [6 1 5 5]
}
