package darknet_test

import (
	"fmt"
	"log"
	"strings"

	"govision.dev/vision/darknet"
	"govision.dev/vision/imageio"
)

// Load a detector and run it on a letterboxed image.
func ExampleLoad() {
	n, err := darknet.Load("testdata/golden/yolov3-tiny.cfg", "testdata/golden/yolov3-tiny.weights")
	if err != nil {
		log.Fatal(err)
	}
	img, err := imageio.DecodeFile("testdata/golden/dog.png")
	if err != nil {
		log.Fatal(err)
	}
	x, _ := imageio.Letterbox(img, n.Width, n.Height)
	outs, err := n.Forward(x)
	if err != nil {
		log.Fatal(err)
	}
	for k, i := range n.Outputs() {
		y := n.Config.Layers[i].(*darknet.Yolo)
		fmt.Printf("layer %d: yolo, anchors %v, output %v\n", i, y.Mask, outs[k].Shape())
	}
	// Output:
	// layer 16: yolo, anchors [3 4 5], output [1 255 5 5]
	// layer 23: yolo, anchors [0 1 2], output [1 255 10 10]
}

// Parse reports the file, line and key of a mistake.
func ExampleParse() {
	_, err := darknet.Parse("my.cfg", strings.NewReader(`[net]
width=416
height=416
channels=3

[convolutional]
filters=16
sise=3
`))
	fmt.Println(err)
	// Output:
	// darknet: my.cfg:8: [convolutional] key "sise": unknown key
}

// New builds a network with fresh weights; WithSize overrides the cfg's
// input size.
func ExampleNew() {
	n, err := darknet.New("testdata/golden/yolov3-tiny.cfg", darknet.WithSize(320, 256))
	if err != nil {
		log.Fatal(err)
	}
	for _, i := range n.Outputs() {
		fmt.Println(n.Shape(i))
	}
	fmt.Println(n.WeightsLen(), "weights")
	// Output:
	// [255 8 10]
	// [255 16 20]
	// 161780 weights
}

// Resize runs the same weights at another input size, without copying
// them (as vision detect --imgsz does).
func ExampleNet_Resize() {
	n, err := darknet.Load("testdata/golden/yolov3-tiny.cfg", "testdata/golden/yolov3-tiny.weights")
	if err != nil {
		log.Fatal(err)
	}
	r, err := n.Resize(320, 256)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n.Width, n.Height, "→", r.Width, r.Height)
	for _, i := range r.Outputs() {
		fmt.Println(r.Shape(i))
	}
	same := &n.Params(0)[0].Tensor.Data()[0] == &r.Params(0)[0].Tensor.Data()[0]
	fmt.Println("shared weights:", same)
	// Output:
	// 160 160 → 320 256
	// [255 8 10]
	// [255 16 20]
	// shared weights: true
}
