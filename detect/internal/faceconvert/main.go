// Command faceconvert converts face-api's published face detector weights
// (TensorFlow.js manifests and uint8-quantized shards) to safetensors with
// detect's parameter names, the files detect embeds in models/. It is run
// by tools/faceapi/convert.sh:
//
//	go run ./internal/faceconvert MODELDIR OUTDIR
//
// MODELDIR is the model/ folder of the @vladmandic/face-api npm package.
// The values are face-api's dequantized float32 (min + scale·q), so the
// converted files give exactly what the originals give.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"govision.dev/detect"
	"govision.dev/vision/nn"
	"govision.dev/vision/weights"
)

// manifests are face-api's file for each of detect's face models, and the
// name of our converted file.
var manifests = []struct{ model, manifest, out string }{
	{"face", "tiny_face_detector_model-weights_manifest.json", "tiny_face_detector.safetensors"},
	{"face-ssd", "ssd_mobilenetv1_model-weights_manifest.json", "ssd_mobilenetv1.safetensors"},
}

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
	for _, m := range manifests {
		if !detect.IsFace(m.model) {
			fmt.Fprintf(os.Stderr, "faceconvert: %s: not built yet, skipped\n", m.model)
			continue
		}
		d, err := detect.NewFace(m.model)
		if err != nil {
			return err
		}
		if err := d.Load(filepath.Join(modelDir, m.manifest)); err != nil {
			return err
		}
		out := filepath.Join(outDir, m.out)
		if err := weights.Save(out, nn.StateDict(d.Module())); err != nil {
			return err
		}
		fmt.Printf("%s: %s → %s (%d parameters)\n", m.model, m.manifest, out, nn.NumParams(d.Module()))
	}
	return nil
}
