// Command faceconvert converts face-api's published face detector weights
// (TensorFlow.js manifests and uint8-quantized shards) to safetensors with
// detect's parameter names, the files detect embeds in models/. It is run
// by tools/faceapi/convert.sh:
//
//	go run ./internal/faceconvert MODELDIR OUTDIR
//
// MODELDIR is the model/ folder of the @vladmandic/face-api npm package.
// The tiny detector is written as safetensors of face-api's dequantized
// float32 (min + scale·q), so it gives exactly what the original gives.
// The SSD is embedded as face-api's own uint8-quantized manifest and shard
// (5.6 MB, against 22 MB of float32): they are checked to load into
// detect's network and copied byte for byte.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"govision.dev/detect"
	"govision.dev/vision/nn"
	"govision.dev/vision/weights"
)

// manifests are face-api's file for each of detect's face models, and the
// name of our converted file.
// An out of "" keeps face-api's files (the manifest and its shards).
var manifests = []struct{ model, manifest, out string }{
	{"face", "tiny_face_detector_model-weights_manifest.json", "tiny_face_detector.safetensors"},
	{"face-ssd", "ssd_mobilenetv1_model-weights_manifest.json", ""},
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
		if m.out == "" {
			if err := copyTFJS(modelDir, m.manifest, outDir); err != nil {
				return err
			}
			fmt.Printf("%s: %s copied (%d parameters)\n", m.model, m.manifest, nn.NumParams(d.Module()))
			continue
		}
		out := filepath.Join(outDir, m.out)
		if err := weights.Save(out, nn.StateDict(d.Module())); err != nil {
			return err
		}
		fmt.Printf("%s: %s → %s (%d parameters)\n", m.model, m.manifest, out, nn.NumParams(d.Module()))
	}
	return nil
}

// copyTFJS copies a manifest and the shards it names from dir to outDir.
func copyTFJS(dir, manifest, outDir string) error {
	b, err := os.ReadFile(filepath.Join(dir, manifest))
	if err != nil {
		return err
	}
	var groups []struct {
		Paths []string `json:"paths"`
	}
	if err := json.Unmarshal(b, &groups); err != nil {
		return fmt.Errorf("%s: %w", manifest, err)
	}
	files := []string{manifest}
	for _, g := range groups {
		files = append(files, g.Paths...)
	}
	for _, f := range files {
		if !filepath.IsLocal(f) {
			return fmt.Errorf("%s: shard %q leaves the folder", manifest, f)
		}
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(outDir, f), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
