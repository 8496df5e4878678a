package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"govision.dev/classify"
	"govision.dev/detect"
)

// modelInfo is one row of `vision models`.
type modelInfo struct {
	Name     string  `json:"name"`
	Task     string  `json:"task"`
	Params   int     `json:"params"`
	GFLOPs   float64 `json:"gflops"` // multiply-accumulates ×1e-9 at the default input
	Input    int     `json:"input"`  // side of the default square input
	Classes  int     `json:"classes"`
	Top1     float64 `json:"top1,omitempty"` // reference accuracy, %
	Paper    string  `json:"paper"`
	Weights  string  `json:"weights"`            // the weight file's name
	URL      string  `json:"url,omitempty"`      // where it is published
	Embedded bool    `json:"embedded,omitempty"` // built into vision (lenet5, the face detectors)
	OnDisk   bool    `json:"on_disk"`            // found in the weights folder
	Path     string  `json:"path,omitempty"`     // where, if so
	Source   string  `json:"source,omitempty"`   // of Top1 and the file
}

// tasks are the zoos `vision models --task` knows, in the order it lists
// them, and taskRows their rows.
var (
	tasks    = []string{"classify", "detect"}
	taskRows = map[string]func(weightsDir string) ([]modelInfo, error){"classify": classifyRows, "detect": detectRows}
)

func newModelsCmd(g *globals) *cobra.Command {
	var (
		task   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the models with their size, cost and whether their weights are on disk",
		Long: `models lists every model vision can build, the classifiers then the
detectors (--task classify or detect for one zoo): its name (as --model
takes it), parameter count, GFLOPs at its default input size
(multiply-accumulates of its convolutions and linear layers, the figure
torchvision and the papers give: ResNet-50 4.1, YOLOv3 32.9, half of
darknet's "65.86 Bn FLOPS"), the default input, the reference top-1 accuracy
of a classifier's published weights, and whether the weight file is built
in (lenet5's, the face detectors') or in the weights folder:
$VISION_HOME/weights if VISION_HOME is set, else
` + "`<user cache dir>/govision/weights`" + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if task != "" && !contains(tasks, task) {
				return fmt.Errorf("--task %q: want one of %s", task, strings.Join(tasks, ", "))
			}
			dir, dirErr := weightsDir()
			if dirErr != nil {
				g.logf("%v", dirErr)
			}
			var rows []modelInfo
			for _, t := range tasks {
				if task != "" && task != t {
					continue
				}
				r, err := taskRows[t](dir)
				if err != nil {
					return err
				}
				rows = append(rows, r...)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			return writeModels(cmd.OutOrStdout(), rows, dir)
		},
	}
	cmd.Flags().StringVar(&task, "task", "", "list only this task's models: "+strings.Join(tasks, ", "))
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// classifyRows are the rows of classify's zoo; dir is the weights folder
// ("" if there is none).
func classifyRows(dir string) ([]modelInfo, error) {
	var rows []modelInfo
	for _, name := range classify.Names() {
		info, err := classify.Describe(name)
		if err != nil {
			return nil, err
		}
		w := info.Weights
		r := modelInfo{Name: name, Task: "classify", Params: info.Params, GFLOPs: float64(info.MACs) / 1e9,
			Input: w.Preprocess.Size(), Classes: info.Classes, Top1: w.Top1, Paper: info.Paper,
			Weights: w.FileName(name), URL: w.URL, Embedded: w.Embedded, Source: w.Source}
		if dir != "" {
			if p := filepath.Join(dir, r.Weights); fileExists(p) {
				r.OnDisk, r.Path = true, p
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// detectRows are the rows of detect's zoo, the YOLO models then the face
// detectors, whose weights are built in.
func detectRows(dir string) ([]modelInfo, error) {
	var rows []modelInfo
	for _, name := range detect.Names() {
		info, err := detect.Describe(name)
		if err != nil {
			return nil, err
		}
		w := info.Weights
		r := modelInfo{Name: name, Task: "detect", Params: info.Params, GFLOPs: float64(info.MACs) / 1e9,
			Input: info.Size, Classes: info.Classes, Paper: info.Paper, Weights: w.File, URL: w.URL}
		if dir != "" {
			if p := filepath.Join(dir, r.Weights); fileExists(p) {
				r.OnDisk, r.Path = true, p
			}
		}
		rows = append(rows, r)
	}
	for _, name := range detect.FaceNames() {
		info, err := detect.DescribeFace(name)
		if err != nil {
			return nil, err
		}
		rows = append(rows, modelInfo{Name: name, Task: "detect", Params: info.Params, GFLOPs: float64(info.MACs) / 1e9,
			Input: info.Size, Classes: 1, Paper: info.Paper, Weights: info.File, Embedded: true})
	}
	return rows, nil
}

func writeModels(w io.Writer, rows []modelInfo, dir string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tTASK\tPARAMS\tGFLOPS\tINPUT\tTOP-1\tWEIGHTS")
	for _, r := range rows {
		gf := "-"
		switch {
		case r.GFLOPs >= 0.1:
			gf = fmt.Sprintf("%.2f", r.GFLOPs)
		case r.GFLOPs > 0:
			gf = fmt.Sprintf("%.2g", r.GFLOPs)
		}
		top1 := "-"
		if r.Top1 > 0 {
			top1 = fmt.Sprintf("%.2f", r.Top1)
		}
		disk := "missing"
		switch {
		case r.Embedded:
			disk = "built in"
		case r.OnDisk:
			disk = "on disk"
		case r.URL == "":
			disk = "none published"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2fM\t%s\t%d\t%s\t%s\n", r.Name, r.Task, float64(r.Params)/1e6, gf, r.Input, top1, disk)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if dir != "" {
		_, err := fmt.Fprintf(w, "\nweights folder: %s\n", dir)
		return err
	}
	return nil
}

// weightsDir is where vision looks for weight files: $VISION_HOME/weights,
// else <user cache dir>/govision/weights.
func weightsDir() (string, error) {
	if h := os.Getenv("VISION_HOME"); h != "" {
		return filepath.Join(h, "weights"), nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no weights folder: set VISION_HOME (%v)", err)
	}
	return filepath.Join(c, "govision", "weights"), nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// errNoWeights is the category of a model run without its weight file.
var errNoWeights = errors.New("no weights")

// findWeights returns the path of model's weight file in the weights
// folder, or an error saying which file to get, where from and where to
// put it.
func findWeights(name string, w classify.Weights) (string, error) {
	dir, err := weightsDir()
	if err != nil {
		return "", fmt.Errorf("%w for %s: %v; or pass --weights FILE", errNoWeights, name, err)
	}
	file := w.FileName(name)
	p := filepath.Join(dir, file)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if w.URL != "" {
		return "", fmt.Errorf("%w for %s: %s is not in %s\n  download it from %s\n  into that folder (or set VISION_HOME, or pass --weights FILE)",
			errNoWeights, name, file, dir, w.URL)
	}
	return "", fmt.Errorf("%w for %s: none are published; put a trained checkpoint at %s or pass --weights FILE",
		errNoWeights, name, p)
}
