package classify_test

import (
	"fmt"
	"image"
	"image/color"

	"govision.dev/classify"
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
