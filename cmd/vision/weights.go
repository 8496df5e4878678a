package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"govision.dev/classify"
	"govision.dev/detect"
)

// weightsURLEnv, if set, is the base URL weight files are fetched from
// instead of their publishers' (a mirror, or a test server): the file
// published as https://host/dir/yolov3.weights is fetched from
// $VISION_WEIGHTS_URL/yolov3.weights.
const weightsURLEnv = "VISION_WEIGHTS_URL"

func newWeightsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "weights",
		Short: "Download the published weights of the models",
		Long: `weights manages the weight files of the models in the weights folder:
$VISION_HOME/weights if VISION_HOME is set, else <user cache dir>/govision/weights.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var force bool
	fetch := &cobra.Command{
		Use:   "fetch MODEL...",
		Short: "Download a model's published weights into the weights folder",
		Long: `fetch downloads each model's published weight file (darknet's for the YOLO
models, torchvision's for the classifiers) into the weights folder, with a
progress bar, under a temporary name renamed into place only once the file
is whole and checked: against its recorded SHA-256 where one is known,
else its recorded size and, for the darknet models, by loading it into the
network (which checks its length against the cfg). A file already there is
kept unless --force.

` + weightsURLEnv + `=URL fetches from URL/<file name> instead of the publisher
(a mirror).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, name := range args {
				rec, err := weightsRecordFor(name)
				if err != nil {
					return err
				}
				if _, err := fetchWeights(cmd.Context(), g, rec, force); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fetch.Flags().BoolVar(&force, "force", false, "download even if the file is already there")
	cmd.AddCommand(fetch)
	return cmd
}

// weightsRecord is what fetch needs to know about a weight file.
type weightsRecord struct {
	model  string
	file   string // the name in the weights folder
	url    string // where it is published
	sha256 string // hex, all of it or a prefix; "" if none is known
	size   int64  // bytes; 0 if not recorded
	// check, if set, tells whether a downloaded file fits the model,
	// for files without a recorded SHA-256.
	check func(path string) error
}

// weightsRecordFor returns the record of a model's published weights:
// detect's models, then classify's. Tests replace it.
var weightsRecordFor = func(name string) (weightsRecord, error) {
	if info, err := detect.Describe(name); err == nil {
		w := info.Weights
		return weightsRecord{model: name, file: w.File, url: w.URL, sha256: w.SHA256, size: w.Size,
			check: func(p string) error {
				d, err := detect.New(name)
				if err != nil {
					return err
				}
				return d.Load(p)
			}}, nil
	} else if _, cerr := classify.Describe(name); cerr != nil {
		if strings.Contains(name, "yolo") {
			return weightsRecord{}, err
		}
		return weightsRecord{}, fmt.Errorf("%w (YOLO models: %s)", cerr, strings.Join(detect.Names(), ", "))
	}
	info, _ := classify.Describe(name)
	w := info.Weights
	if w.Embedded {
		return weightsRecord{}, fmt.Errorf("%s: its weights are built into vision; there is nothing to fetch", name)
	}
	if w.URL == "" {
		return weightsRecord{}, fmt.Errorf("%s: no weights are published for it", name)
	}
	return weightsRecord{model: name, file: w.FileName(name), url: w.URL, sha256: w.SHA256}, nil
}

// fetchDir is the folder fetch writes into: $VISION_HOME/weights, else
// <user cache dir>/govision/weights ("" if neither can be had).
func fetchDir() string {
	d, err := weightsDir()
	if err != nil {
		return ""
	}
	return d
}

// fetchWeights downloads rec's file into the weights folder, atomically,
// and returns its path.
func fetchWeights(ctx context.Context, g *globals, rec weightsRecord, force bool) (string, error) {
	dir, err := weightsDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, rec.file)
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() && !force {
		if !g.quiet {
			fmt.Fprintf(g.stderr, "vision: %s is already in %s (--force downloads it again)\n", rec.file, dir)
		}
		return dst, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	url := rec.url
	if base := os.Getenv(weightsURLEnv); base != "" {
		url = strings.TrimRight(base, "/") + "/" + path.Base(rec.url)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("fetching %s from %s: %s", rec.model, url, fmt.Sprintf(format, args...))
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fail("%v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fail("%v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fail("%s", resp.Status)
	}
	total := resp.ContentLength
	if rec.size > 0 && total >= 0 && total != rec.size {
		return "", fail("the server offers %s bytes, the published file has %s", commas(total), commas(rec.size))
	}

	tmp, err := os.CreateTemp(dir, "."+rec.file+".part-")
	if err != nil {
		return "", err
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	want := total
	if want < 0 {
		want = rec.size
	}
	if !g.quiet {
		fmt.Fprintf(g.stderr, "vision: fetching %s from %s\n", rec.file, url)
	}
	bar := newByteProgress(g.stderr, want, rec.file, !g.quiet)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h, bar), resp.Body)
	bar.finish()
	if err != nil {
		return "", fail("interrupted after %s bytes: %v", commas(n), err)
	}
	if total >= 0 && n != total {
		return "", fail("got %s of %s bytes", commas(n), commas(total))
	}
	if rec.size > 0 && n != rec.size {
		return "", fail("got %s bytes, the published file has %s", commas(n), commas(rec.size))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if rec.sha256 != "" && !strings.HasPrefix(sum, strings.ToLower(rec.sha256)) {
		return "", fail("SHA-256 %s, want %s: the download is corrupt or not the published file", sum, rec.sha256)
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if rec.sha256 == "" && rec.check != nil {
		g.logf("checking %s against %s", rec.file, rec.model)
		if err := rec.check(tmp.Name()); err != nil {
			return "", fail("the file does not fit the model: %v", err)
		}
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	tmp = nil
	if !g.quiet {
		fmt.Fprintf(g.stderr, "vision: saved %s (%s bytes, SHA-256 %s)\n", dst, commas(n), sum)
	}
	return dst, nil
}

// byteProgress is a download's progress bar on a terminal's stderr,
//
//	yolov3.weights [=====>              ]  45.2/236.5 MiB  12.3 MiB/s
//
// redrawn at most every 100 ms; nothing when stderr is not a terminal.
type byteProgress struct {
	w        io.Writer
	label    string
	n, total int64
	on       bool
	start    time.Time
	last     time.Time
	wide     int
}

func newByteProgress(w io.Writer, total int64, label string, want bool) *byteProgress {
	return &byteProgress{w: w, label: label, total: total, on: want && isTerminal(w), start: time.Now()}
}

func (p *byteProgress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.on && time.Since(p.last) >= 100*time.Millisecond {
		p.last = time.Now()
		p.draw()
	}
	return len(b), nil
}

func (p *byteProgress) draw() {
	const mib = 1 << 20
	rate := float64(p.n) / mib / max(time.Since(p.start).Seconds(), 1e-3)
	var line string
	if p.total > 0 {
		const width = 30
		filled := int(int64(width) * min(p.n, p.total) / p.total)
		bar := strings.Repeat("=", filled)
		if filled < width {
			bar += ">" + strings.Repeat(" ", width-filled-1)
		}
		line = fmt.Sprintf("%s [%s] %6.1f/%.1f MiB  %.1f MiB/s", p.label, bar, float64(p.n)/mib, float64(p.total)/mib, rate)
	} else {
		line = fmt.Sprintf("%s %6.1f MiB  %.1f MiB/s", p.label, float64(p.n)/mib, rate)
	}
	pad := max(0, p.wide-len(line))
	p.wide = len(line)
	fmt.Fprint(p.w, "\r"+line+strings.Repeat(" ", pad))
}

// finish erases the bar.
func (p *byteProgress) finish() {
	if p.on && p.wide > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.wide)+"\r")
	}
	p.on = false
}
