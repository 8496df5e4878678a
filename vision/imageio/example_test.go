package imageio_test

import (
	"errors"
	"fmt"
	"image"
	"log"
	"os"
	"path/filepath"

	"govision.dev/vision/imageio"
)

func ExampleDecodeFile() {
	img, err := imageio.DecodeFile("testdata/golden/classify.png")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.Bounds().Dx(), "x", img.Bounds().Dy())
	// Output: 96 x 72
}

func ExampleDecoder() {
	d := imageio.Decoder{MaxPixels: 1000}
	_, err := d.DecodeFile("testdata/golden/classify.png")
	fmt.Println(errors.Is(err, imageio.ErrTooLarge))
	fmt.Println(err)
	// Output:
	// true
	// imageio: image too large: testdata/golden/classify.png: png header claims 96x72 = 6912 pixels, over the limit of 1000
}

func ExampleToTensor() {
	img := image.NewGray(image.Rect(0, 0, 4, 2))
	x := imageio.ToTensor(img, imageio.ImageNetMean, imageio.ImageNetStd)
	fmt.Println(x.Shape(), x.Data()[0])
	// Output: [1 3 2 4] -2.117904
}

func ExampleClassifyPreprocess() {
	img, err := imageio.DecodeFile("testdata/golden/classify.png")
	if err != nil {
		log.Fatal(err)
	}
	x, err := imageio.ClassifyPreprocess(img)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(x.Shape())
	// Output: [1 3 224 224]
}

func ExampleResizeCenterCrop() {
	img := image.NewGray(image.Rect(0, 0, 500, 375))
	t := imageio.ResizeCenterCrop{Resize: 256, Crop: 224, Mean: imageio.ImageNetMean, Std: imageio.ImageNetStd}
	x, err := t.Apply(img)
	if err != nil {
		log.Fatal(err)
	}
	w, h := imageio.ShorterSide(500, 375, 256)
	fmt.Println("resized", w, "x", h, "cropped", x.Shape())
	// Output: resized 341 x 256 cropped [1 3 224 224]
}

func ExampleLetterbox() {
	img := image.NewRGBA(image.Rect(0, 0, 768, 576))
	x, info := imageio.Letterbox(img, 416, 416)
	fmt.Println(x.Shape())
	fmt.Printf("%+v\n", info)
	// A YOLO box in fractions of the network input, back to image pixels.
	b := info.Unmap(imageio.Box{X: 0.5, Y: 0.5, W: 0.25, H: 0.25})
	fmt.Printf("%+v\n", b)
	// Output:
	// [1 3 416 416]
	// {SrcW:768 SrcH:576 NetW:416 NetH:416 NewW:416 NewH:312 DX:0 DY:52}
	// {X:384 Y:288 W:192 H:192}
}

func ExampleAnnotate() {
	img, err := imageio.DecodeFile("testdata/golden/classify.png")
	if err != nil {
		log.Fatal(err)
	}
	out := imageio.Annotate(img, []imageio.Label{
		{Rect: imageio.Rect{X1: 10, Y1: 20, X2: 60, Y2: 70}, Class: 16, Name: "dog", Score: 0.87},
	})
	dir, err := os.MkdirTemp("", "imageio")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := imageio.SaveFile(filepath.Join(dir, "dog.jpg"), out); err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.Bounds())
	// Output: (0,0)-(96,72)
}

func ExampleBlendMask() {
	img := image.NewGray(image.Rect(0, 0, 4, 4)) // black
	// A 2x2 class map, scaled to the image: person top right, dog bottom left.
	classes := []uint8{
		0, 15,
		12, 0,
	}
	out, err := imageio.BlendMask(img, classes, 2, 2, 0.5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.RGBAAt(3, 0), out.RGBAAt(0, 3), out.RGBAAt(0, 0))
	// Output: {96 64 64 255} {32 0 64 255} {0 0 0 255}
}
