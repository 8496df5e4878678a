package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"govision.dev/classify"
	"govision.dev/cmd/train"
	"govision.dev/vision/checkpoint"
)

// evalResult is `vision eval --json`'s output.
type evalResult struct {
	Model     string    `json:"model"`
	Weights   string    `json:"weights"`
	Images    int       `json:"images"`
	Accuracy  float64   `json:"accuracy"`
	Loss      float64   `json:"loss"`
	PerClass  []float64 `json:"per_class_accuracy"`
	Confusion [][]int   `json:"confusion"`
	PNG       string    `json:"confusion_png,omitempty"`
}

func newEvalCmd(g *globals) *cobra.Command {
	var (
		model, weightsFile, data, out string
		batch                         int
		asJSON                        bool
	)
	cmd := &cobra.Command{
		Use:   "eval --model lenet5 [--weights CHECKPOINT] --data mnist",
		Short: "Evaluate a model on a test set (LeNet-5 on MNIST)",
		Long: `eval runs a model on MNIST's 10,000 test digits and prints the accuracy, the
accuracy of each class and the confusion matrix (true class down, predicted
across), which it also draws as confusion.png in --out (default
runs/eval/<n>, the next free n).

--weights is a checkpoint of vision train (a .safetensors file with its .json
sidecar, checked to belong together and to the model) or any weight file the
model loads (safetensors, a PyTorch state dict); without it, the model's
built-in weights (lenet5's). --data is as for vision train.
--json prints the results as one JSON object.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if model != "lenet5" {
				return fmt.Errorf("eval: model %q: only lenet5 is evaluated on MNIST so far", model)
			}
			m, err := classify.New(model)
			if err != nil {
				return err
			}
			source := weightsFile
			if weightsFile == "" {
				source = "built in: " + m.Weights().File
				if err := m.LoadEmbedded(); err != nil {
					return fmt.Errorf("eval: %w; pass --weights", err)
				}
			} else if _, serr := os.Stat(checkpoint.SidecarPath(weightsFile)); serr == nil {
				if _, err := checkpoint.Load(weightsFile, model, m.Net()); err != nil {
					return err
				}
			} else if err := m.Load(weightsFile); err != nil {
				return err
			}
			dir, err := train.FindMNIST(data)
			if err != nil {
				return err
			}
			test, err := train.LoadMNIST(dir, "test")
			if err != nil {
				return err
			}
			ev, err := train.Evaluate(cmd.Context(), m.Net(), test, train.NewInput(m.Weights().Preprocess), batch, 1)
			if err != nil {
				return err
			}
			if out == "" {
				if out, err = nextRunDir(filepath.Join("runs", "eval")); err != nil {
					return err
				}
			} else if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			png := filepath.Join(out, "confusion.png")
			title := fmt.Sprintf("%s on MNIST test: %.2f%% (%s)", model, ev.Accuracy, filepath.Base(source))
			if err := train.WriteConfusion(png, ev.Confusion, title); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(w, evalResult{Model: model, Weights: source, Images: ev.N, Accuracy: ev.Accuracy,
					Loss: ev.Loss, PerClass: ev.PerClass, Confusion: ev.Confusion, PNG: png})
			}
			printEvaluation(w, model, ev)
			fmt.Fprintf(w, "confusion matrix: %s\n", png)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "lenet5", "model (lenet5)")
	f.StringVar(&weightsFile, "weights", "", "checkpoint or weight file (default: the model's built-in weights)")
	f.StringVar(&data, "data", "mnist", `data set: "mnist" or a folder of MNIST idx files`)
	f.StringVar(&out, "out", "", "folder for confusion.png (default runs/eval/<n>)")
	f.IntVar(&batch, "batch", 500, "batch size")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

func printEvaluation(w io.Writer, model string, ev *train.Evaluation) {
	fmt.Fprintf(w, "%s: accuracy %.2f%% (%d of %d), error %.2f%%, loss %.4f\n\n", model, ev.Accuracy,
		int(ev.Accuracy*float64(ev.N)/100+0.5), ev.N, 100-ev.Accuracy, ev.Loss)
	fmt.Fprintln(w, "class  accuracy   images")
	for c, a := range ev.PerClass {
		n := 0
		for _, v := range ev.Confusion[c] {
			n += v
		}
		fmt.Fprintf(w, "%5d  %7.2f%%  %7d\n", c, a, n)
	}
	fmt.Fprintln(w, "\nconfusion (true ↓, predicted →)")
	var b strings.Builder
	b.WriteString("     ")
	for c := range ev.Confusion {
		fmt.Fprintf(&b, "%6d", c)
	}
	fmt.Fprintln(w, b.String())
	for t, row := range ev.Confusion {
		b.Reset()
		fmt.Fprintf(&b, "%5d", t)
		for _, v := range row {
			fmt.Fprintf(&b, "%6d", v)
		}
		fmt.Fprintln(w, b.String())
	}
	fmt.Fprintln(w)
}
