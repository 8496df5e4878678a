package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"govision.dev/classify"
	"govision.dev/vision/imageio"
)

// imageExts are the file extensions a folder given to classify is searched
// for (case-insensitive): what imageio decodes.
var imageExts = []string{".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}

// classifyResult is one image's line of `vision classify --json`.
type classifyResult struct {
	Image       string                `json:"image"`
	Model       string                `json:"model"`
	Predictions []classify.Prediction `json:"predictions,omitempty"`
	Error       string                `json:"error,omitempty"`
}

func newClassifyCmd(g *globals) *cobra.Command {
	var (
		model, weightsFile string
		topk               int
		asJSON             bool
	)
	cmd := &cobra.Command{
		Use:   "classify IMAGE|FOLDER|GLOB... --model NAME",
		Short: "Classify images with a model of the zoo",
		Long: `classify prints the top-k classes of each image with their probabilities.

Arguments are image files, folders (searched recursively for ` + strings.Join(imageExts, " ") + `)
or glob patterns ("photos/*.jpg", quoted so vision expands them). Each image is
preprocessed as the model's weights expect (ImageNet models: shorter side to
256, centre crop 224, ImageNet mean and std; Inception v3: 342/299).

The weights are --weights FILE (a PyTorch .pth/.pt state dict or safetensors)
or, by default, the model's published file in the weights folder:
$VISION_HOME/weights if VISION_HOME is set, else <user cache dir>/govision/weights
(` + "`vision models`" + ` shows each file's name and whether it is there).
lenet5's weights are built in (LeNet-5 trained on MNIST by vision train): it
needs no file, and takes a digit as MNIST draws it, light ink on black.

An image that fails (unreadable, not an image) is reported and the others are
still classified; vision then exits with status 1. --json prints one JSON
object per image and line: {"image", "model", "predictions": [{"class",
"label", "prob"}]} or {"image", "model", "error"}.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" {
				return errors.New("--model is required (`vision models` lists them)")
			}
			if topk < 1 {
				return fmt.Errorf("--topk %d: want at least 1", topk)
			}
			paths, err := expandImages(args)
			if err != nil {
				return err
			}
			m, err := classify.New(model)
			if err != nil {
				return err
			}
			if err := loadWeights(g, m, weightsFile); err != nil {
				return err
			}
			return classifyImages(cmd.Context(), g, cmd.OutOrStdout(), m, paths, topk, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&model, "model", "m", "", "model name, e.g. resnet50 (see `vision models`)")
	f.StringVarP(&weightsFile, "weights", "w", "", "weight file (default: the model's file in the weights folder)")
	f.IntVarP(&topk, "topk", "k", 5, "classes to print per image")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per image")
	return cmd
}

// loadWeights loads file into m; without one, the weights classify embeds
// for the model (lenet5's), else the model's file from the weights folder.
func loadWeights(g *globals, m *classify.Model, file string) error {
	if file == "" && m.Weights().Embedded {
		g.logf("using %s's built-in weights (%s)", m.Name(), m.Weights().File)
		return m.LoadEmbedded()
	}
	if file == "" {
		p, err := findWeights(m.Name(), m.Weights())
		if err != nil {
			return err
		}
		file = p
	}
	g.logf("loading %s", file)
	return m.Load(file)
}

// expandImages turns the arguments into image paths: files as given,
// folders searched recursively for image files (sorted), glob patterns
// expanded (sorted). A pattern or folder that finds no image is an error;
// a missing file is left for classifyImages to report.
func expandImages(args []string) ([]string, error) {
	var paths []string
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			n := len(paths)
			err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && slices.Contains(imageExts, strings.ToLower(filepath.Ext(p))) {
					paths = append(paths, p)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			if len(paths) == n {
				return nil, fmt.Errorf("%s: no images (%s) in this folder", a, strings.Join(imageExts, " "))
			}
			continue
		}
		if strings.ContainsAny(a, "*?[") {
			ms, err := filepath.Glob(a)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", a, err)
			}
			if len(ms) == 0 {
				return nil, fmt.Errorf("%s: no file matches", a)
			}
			paths = append(paths, ms...)
			continue
		}
		paths = append(paths, a)
	}
	return paths, nil
}

// classifyImages classifies each image in turn, printing each result as it
// comes; failures are printed too, summarised at the end and returned as
// one error.
func classifyImages(ctx context.Context, g *globals, out io.Writer, m *classify.Model, paths []string, topk int, asJSON bool) error {
	bar := newProgress(g.stderr, len(paths), "classify", !g.quiet && !asJSON)
	defer bar.finish()
	enc := json.NewEncoder(out)
	var failed []string
	for i, p := range paths {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted after %d of %d images: %w", i, len(paths), err)
		}
		res := classifyResult{Image: p, Model: m.Name()}
		img, err := imageio.DecodeFile(p)
		if err == nil {
			res.Predictions, err = m.Predict(img, topk)
		}
		if err != nil {
			res.Error = err.Error()
			failed = append(failed, fmt.Sprintf("%s: %v", p, err))
		}
		bar.clear()
		if asJSON {
			if err := enc.Encode(res); err != nil {
				return err
			}
		} else if res.Error == "" {
			if err := writePredictions(out, res); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(g.stderr, "vision: %s: %s\n", p, res.Error)
		}
		bar.set(i + 1)
	}
	bar.finish()
	if len(failed) > 0 {
		if len(failed) > 1 && !g.quiet {
			fmt.Fprintf(g.stderr, "vision: %d of %d images failed:\n", len(failed), len(paths))
			for _, f := range failed {
				fmt.Fprintf(g.stderr, "  %s\n", f)
			}
		}
		return fmt.Errorf("%d of %d images failed", len(failed), len(paths))
	}
	return nil
}

// writePredictions prints an image's name and its classes, one a line:
// probability, label, class index.
func writePredictions(w io.Writer, r classifyResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", r.Image)
	for _, p := range r.Predictions {
		fmt.Fprintf(&b, "  %6.2f%%  %s (%d)\n", 100*p.Prob, p.Label, p.Class)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
