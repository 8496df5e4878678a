// Command train measures LeNet-5's training throughput in govision against
// the same network in PyTorch, in one run, and prints a Markdown table of
// images per second.
//
//	go run ./bench/train [-threads 1,2] [-batch 64] [-reps 30] [-mintime 3s] [-quick]
//
// One step is what `vision train` does per batch: forward pass of the
// paper's LeNet-5 (LeCun et al. 1998: C1, S2, C3 over Table I's maps, S4,
// C5, F6, squashing, the RBF output), cross-entropy loss (of the logits at
// temperature 30), backward pass, Adam step. govision runs cmd/train's Trainer.Step (classify's LeNet5
// through autograd); PyTorch (Debian's python3-torch under /usr/bin/python3
// -E -s, -python) runs pytorch_peer.py, the same network with C3 as a
// dense convolution times the connection mask, in eager mode. Both train on
// eight fixed batches of random digits (normal values, uniform labels) in
// turn.
//
// For each thread count T, govision (accel.SetThreads(T) and
// runtime.GOMAXPROCS(T)) then PyTorch (torch.set_num_threads(T), a fresh
// subprocess) each run -warmup untimed steps, then steps until at least
// -reps of them and -mintime in total; the table reports batch/median
// step time in images per second, and the ratio.
package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"govision.dev/accel"
	"govision.dev/bench/internal/measure"
	"govision.dev/cmd/train"
	"govision.dev/vision/tensor"
)

//go:embed pytorch_peer.py
var peerScript string

func main() {
	if err := run(os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type config struct {
	threads []int
	batch   int
	warmup  int
	minReps int
	minTime time.Duration
	python  string
	args    []string
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	threads := fs.String("threads", "1,2", "comma-separated thread counts")
	c := config{args: args}
	fs.IntVar(&c.batch, "batch", 64, "batch size")
	fs.IntVar(&c.warmup, "warmup", 10, "untimed steps before timing")
	fs.IntVar(&c.minReps, "reps", 30, "at least this many timed steps")
	fs.DurationVar(&c.minTime, "mintime", 3*time.Second, "and at least this much timed time")
	fs.StringVar(&c.python, "python", "/usr/bin/python3", "Debian's interpreter, with python3-torch")
	quick := fs.Bool("quick", false, "short runs (3 warm-up steps, 5 timed, 0.2s), to check the harness works")
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	if *quick {
		c.warmup, c.minReps, c.minTime = 3, 5, 200*time.Millisecond
	}
	var err error
	if c.threads, err = measure.Ints(*threads); err != nil {
		return c, fmt.Errorf("-threads: %w", err)
	}
	if c.batch < 1 {
		return c, errors.New("-batch must be positive")
	}
	return c, nil
}

type row struct {
	threads          int
	govision, torch  time.Duration // median step
	goReps, torchRep int
	torchVersion     string
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	step, err := goStep(cfg.batch)
	if err != nil {
		return err
	}
	var rows []row
	for _, t := range cfg.threads {
		r := row{threads: t}
		prev := runtime.GOMAXPROCS(t)
		accel.SetThreads(t)
		r.govision, r.goReps = measure.Median(step, cfg.warmup, cfg.minReps, cfg.minTime)
		accel.SetThreads(0)
		runtime.GOMAXPROCS(prev)
		fmt.Fprintf(stderr, "govision, %d thread(s): %.2f ms/step\n", t, ms(r.govision))
		r.torch, r.torchRep, r.torchVersion, err = torchStep(cfg, t)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "pytorch,  %d thread(s): %.2f ms/step\n", t, ms(r.torch))
		rows = append(rows, r)
	}
	fmt.Fprintf(stdout, "LeNet-5 training throughput, batch %d (forward, cross-entropy, backward, Adam), images/s; median of ≥%d steps and ≥%s\n\n",
		cfg.batch, cfg.minReps, cfg.minTime)
	fmt.Fprintln(stdout, "| threads | govision | PyTorch | govision / PyTorch |")
	fmt.Fprintln(stdout, "|---:|---:|---:|---:|")
	for _, r := range rows {
		g, p := float64(cfg.batch)/r.govision.Seconds(), float64(cfg.batch)/r.torch.Seconds()
		fmt.Fprintf(stdout, "| %d | %.0f | %.0f | %.2f |\n", r.threads, g, p, g/p)
	}
	v := ""
	if len(rows) > 0 {
		v = rows[0].torchVersion
	}
	fmt.Fprintf(stdout, "\nCPU: %s; PyTorch %s; load average %s\ncommand: %s\n", measure.CPUModel(), v, measure.LoadAverage(),
		measure.CommandLine(cfg.args, "./bench/train"))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// goStep returns one training step of LeNet-5 on eight fixed random
// batches in turn.
func goStep(batch int) (func(), error) {
	cfg := train.DefaultConfig()
	t, err := train.NewModel(cfg)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var batches []*train.Batch
	for i := range 8 {
		x := tensor.New(batch, 1, t.Input.Size, t.Input.Size)
		for j := range x.Data() {
			x.Data()[j] = float32(rng.NormFloat64())
		}
		y := make([]int, batch)
		for j := range y {
			y[j] = rng.IntN(10)
		}
		batches = append(batches, &train.Batch{Index: i, X: x, Y: y})
	}
	i := 0
	var stepErr error
	return func() {
		if _, _, err := t.Step(batches[i%len(batches)]); err != nil && stepErr == nil {
			stepErr = err
			panic(err)
		}
		i++
	}, nil
}

// torchStep runs the PyTorch peer at t threads and returns its median step.
func torchStep(cfg config, t int) (time.Duration, int, string, error) {
	cmd := exec.Command(cfg.python, "-E", "-s", "-c", peerScript, strconv.Itoa(t), strconv.Itoa(cfg.batch),
		strconv.Itoa(cfg.warmup), strconv.Itoa(cfg.minReps), strconv.FormatFloat(cfg.minTime.Seconds(), 'g', -1, 64))
	cmd.Dir = os.TempDir() // nothing there shadows `import torch`
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return 0, 0, "", fmt.Errorf("pytorch peer (%s): %v: %s", cfg.python, err, measure.LastLine(errb.String()))
	}
	var r struct {
		MedianS float64 `json:"median_s"`
		Reps    int     `json:"reps"`
		Torch   string  `json:"torch"`
	}
	if err := json.Unmarshal([]byte(measure.LastLine(out.String())), &r); err != nil {
		return 0, 0, "", fmt.Errorf("pytorch peer: %v in %q", err, out.String())
	}
	return time.Duration(r.MedianS * float64(time.Second)), r.Reps, r.Torch, nil
}
