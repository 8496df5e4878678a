// Command faceconvert converts face-api's published face detector weights
// (TensorFlow.js manifests and uint8-quantized shards) to the safetensors
// files detect embeds in models/, with detect's parameter names and
// face-api's uint8 codes kept (detect.ConvertFaceAPI). It is run by
// tools/faceapi/convert.sh:
//
//	go run ./internal/faceconvert MODELDIR OUTDIR
//
// MODELDIR is the model/ folder of the @vladmandic/face-api npm package.
// Each converted file is loaded back and checked against the manifest:
// the same float32 values, to the bit.
package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"govision.dev/detect"
	"govision.dev/vision/nn"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: faceconvert MODELDIR OUTDIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "faceconvert:", err)
		os.Exit(1)
	}
}

func run(modelDir, outDir string) error {
	for _, name := range detect.FaceNames() {
		info, err := detect.DescribeFace(name)
		if err != nil {
			return err
		}
		manifest := filepath.Join(modelDir, info.TFJS)
		out := filepath.Join(outDir, info.File)
		if err := detect.ConvertFaceAPI(name, manifest, out); err != nil {
			return err
		}
		if err := sameWeights(name, manifest, out); err != nil {
			return err
		}
		st, err := os.Stat(out)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %s → %s (%d parameters, %d bytes)\n", name, info.TFJS, out, info.Params, st.Size())
	}
	return nil
}

// sameWeights loads the manifest and the converted file into two
// detectors and compares every tensor bit for bit.
func sameWeights(name, manifest, converted string) error {
	a, err := detect.NewFace(name)
	if err != nil {
		return err
	}
	if err := a.Load(manifest); err != nil {
		return err
	}
	b, err := detect.NewFace(name)
	if err != nil {
		return err
	}
	if err := b.Load(converted); err != nil {
		return err
	}
	bs := nn.StateDict(b.Module())
	for k, v := range nn.StateDict(a.Module()) {
		w := bs[k]
		if w == nil || w.Len() != v.Len() {
			return fmt.Errorf("%s: %s: %s is missing or of another size", name, converted, k)
		}
		for i, x := range v.Data() {
			if math.Float32bits(x) != math.Float32bits(w.Data()[i]) {
				return fmt.Errorf("%s: %s: %s[%d] is %g, the manifest gives %g", name, converted, k, i, w.Data()[i], x)
			}
		}
	}
	return nil
}
