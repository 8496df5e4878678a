package datasets_test

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"

	"govision.dev/datasets"
	"govision.dev/vision/imageio"
)

// Converting is reader → records → writer; the report counts what the
// target format cannot hold.
func ExampleConvert() {
	tmp, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(tmp)
	src, dst := filepath.Join(tmp, "voc"), filepath.Join(tmp, "yolo")
	os.MkdirAll(filepath.Join(src, "Annotations"), 0o777)
	os.MkdirAll(filepath.Join(src, "JPEGImages"), 0o777)
	imageio.SaveFile(filepath.Join(src, "JPEGImages", "a.png"), image.NewNRGBA(image.Rect(0, 0, 40, 30)))
	os.WriteFile(filepath.Join(src, "Annotations", "a.xml"), []byte(`<annotation><filename>a.png</filename>
<size><width>40</width><height>30</height></size>
<object><name>dog</name><difficult>1</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>20</xmax><ymax>10</ymax></bndbox></object>
</annotation>`), 0o644)

	r, err := datasets.Open(src, "", datasets.Options{}) // detected: voc
	if err != nil {
		panic(err)
	}
	defer r.Close()
	out, err := datasets.CreateOutput(dst, datasets.OutputOptions{Inputs: []string{src}})
	if err != nil {
		panic(err)
	}
	w, _ := datasets.Create(out.Dir, datasets.YOLOFormat, r.Classes())
	rep, err := datasets.Convert(context.Background(), r, w, datasets.ConvertOptions{})
	if err != nil {
		panic(err)
	}
	if err := out.Commit(); err != nil {
		panic(err)
	}
	label, _ := os.ReadFile(filepath.Join(dst, "labels", "train", "a.txt"))
	fmt.Printf("%d image, %d object, dropped: %v\n%s", rep.Records, rep.Objects, rep.Dropped, label)
	// Output:
	// 1 image, 1 object, dropped: difficult ×1
	// 0 0.250000 0.166667 0.500000 0.333333
}

// A Loader batches a Dataset with random augmentation, reproducibly.
func ExampleLoader() {
	var recs datasets.Records
	for i := range 10 {
		recs = append(recs, &datasets.Record{ID: fmt.Sprint(i), Class: i % 2,
			Image: datasets.Image{Pixels: image.NewGray(image.Rect(0, 0, 64, 48))}})
	}
	l := datasets.Loader{
		Data: recs, BatchSize: 4, Shuffle: true, Seed: 1, Workers: 2,
		Transform: datasets.Compose{datasets.HFlip{P: 0.5}, datasets.RandomResizedCrop{Width: 32, Height: 32}},
		Mean:      imageio.ImageNetMean, Std: imageio.ImageNetStd,
	}
	for b, err := range l.Batches(context.Background(), 0) {
		if err != nil {
			panic(err)
		}
		fmt.Println(b.Index, b.Images.Shape())
		b.Release()
	}
	// Output:
	// 0 [4 3 32 32]
	// 1 [4 3 32 32]
	// 2 [2 3 32 32]
}

// A transform moves boxes with the pixels.
func ExampleLetterbox() {
	rec := &datasets.Record{Image: datasets.Image{Pixels: image.NewGray(image.Rect(0, 0, 200, 100))},
		Objects: []datasets.Object{{Box: datasets.Box{X1: 10, Y1: 20, X2: 110, Y2: 70}}}}
	if err := (datasets.Letterbox{Width: 100, Height: 100}).Apply(rec, rand.New(rand.NewPCG(1, 2))); err != nil {
		panic(err)
	}
	fmt.Println(rec.Width, rec.Height, rec.Objects[0].Box)
	// Output: 100 100 {5 35 55 60}
}
