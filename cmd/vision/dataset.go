package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"govision.dev/datasets"
)

// The dataset commands: `vision dataset info|convert|resize|split|verify|
// stats|pack|unpack`, over govision.dev/datasets. Each reads a data set
// whose format is detected from its layout (or named with --format), and
// those that write one write it into DST through a temporary folder
// renamed when complete (datasets.CreateOutput): never into the input,
// never over an existing folder. A bad record is printed on stderr with its
// file and line and skipped; the command then fails at the end, after
// doing the rest.

func newDatasetCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "Inspect, convert, resize, split, verify and pack data sets",
		Long: `dataset works on data sets in the layouts of Pascal VOC, COCO (instances
JSON), YOLO (txt labels and a names file), ImageFolder (a folder per class),
plain image folders, MNIST (idx), CIFAR-10/100 (binary) and govision's
sharded record files. The format of SRC is detected from its layout;
--format names it.

Commands that write (convert, resize, split, pack, unpack) write DST
through a temporary folder (.DST.partial) renamed when complete; they refuse
to write into their input or over an existing DST. A bad record is reported
with its file and line and skipped; the command goes on and exits non-zero.`,
	}
	cmd.AddCommand(
		newDatasetInfoCmd(g),
		newDatasetConvertCmd(g),
		newDatasetResizeCmd(g),
		newDatasetSplitCmd(g),
		newDatasetVerifyCmd(g),
		newDatasetStatsCmd(g),
		newDatasetPackCmd(g),
		newDatasetUnpackCmd(g),
	)
	return cmd
}

// datasetSource holds the flags naming the input: --format and --split.
type datasetSource struct {
	format string
	split  string
}

func (s *datasetSource) flags(cmd *cobra.Command, formatFlag string) {
	cmd.Flags().StringVar(&s.format, formatFlag, "", "format of SRC: "+datasetFormatNames()+" (default: detected)")
	cmd.Flags().StringVar(&s.split, "split", "", "read only this split of SRC (train, val, …)")
}

// open opens the data set at src.
func (s *datasetSource) open(src string) (datasets.Reader, datasets.Format, error) {
	f := datasets.Format("")
	var err error
	if s.format != "" {
		if f, err = datasets.ParseFormat(s.format); err != nil {
			return nil, "", err
		}
	} else if f, err = datasets.Detect(src); err != nil {
		return nil, "", err
	}
	r, err := datasets.Open(src, f, datasets.Options{Split: s.split})
	if err != nil {
		return nil, "", err
	}
	return r, f, nil
}

func datasetFormatNames() string {
	names := make([]string, len(datasets.Formats))
	for i, f := range datasets.Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// datasetWritable are the formats the writers produce.
var datasetWritable = []datasets.Format{datasets.VOCFormat, datasets.COCOFormat, datasets.YOLOFormat,
	datasets.ImageFolderFormat, datasets.ImagesFormat, datasets.MNISTFormat, datasets.CIFAR10Format,
	datasets.CIFAR100Format, datasets.ShardsFormat}

// classification reports whether a format labels whole images.
func classification(f datasets.Format) bool {
	return f == datasets.ImageFolderFormat || f == datasets.MNISTFormat || f == datasets.CIFAR10Format || f == datasets.CIFAR100Format
}

// badRecords prints bad records on stderr, one a line, "vision: WHERE: WHAT".
func (g *globals) badRecords(bar *datasetBar, bad []error) {
	if len(bad) == 0 {
		return
	}
	if bar != nil {
		bar.clear()
	}
	for _, e := range bad {
		fmt.Fprintf(g.stderr, "vision: %v\n", e)
	}
}

// errBadRecords is the error of a command that skipped bad records.
func errBadRecords(n int, rest string) error {
	return fmt.Errorf("%d bad record%s skipped (listed above); %s", n, plural(n), rest)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// say prints a message on stderr unless --quiet.
func (g *globals) say(format string, args ...any) {
	if !g.quiet {
		fmt.Fprintf(g.stderr, "vision: "+format+"\n", args...)
	}
}

// datasetInputs returns what an output must stay out of: src, and when
// src is a file (a COCO JSON) the data set around it.
func datasetInputs(src string) []string {
	in := []string{src}
	if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
		dir := filepath.Dir(src)
		if filepath.Base(dir) == "annotations" {
			dir = filepath.Dir(dir)
		}
		in = append(in, dir)
	}
	return in
}

// datasetTask describes a writing command for the output's marker: the
// command, its input made absolute, and its options.
func datasetTask(name, src string, opts ...string) string {
	if a, err := filepath.Abs(src); err == nil {
		src = a
	}
	return strings.Join(append([]string{name, src}, opts...), " ")
}

// finishOutput commits out when err is nil; otherwise it removes out's
// temporary folder unless keep (a resumable run), and says where it is.
func (g *globals) finishOutput(out *datasets.Output, err error, keep bool) error {
	if err == nil {
		return out.Commit()
	}
	if keep {
		g.say("the partial output is in %s; run the same command again to resume", out.Dir)
		return err
	}
	if derr := out.Discard(); derr != nil {
		g.say("removing %s: %v", out.Dir, derr)
	}
	return err
}

// parseByteSize parses "256MB", "1GiB", "100k", "4096": decimal (kB, MB,
// GB, TB) and binary (KiB, MiB, GiB, TiB) units, k/K for 1000.
func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"b", 1}}
	mult := int64(1)
	lower := strings.ToLower(t)
	for _, u := range units {
		if strings.HasSuffix(lower, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, e.g. 256MB or 1GiB", s)
	}
	return int64(v * float64(mult)), nil
}

// parseImageSize parses "416" (416×416) or "640x480" (width × height).
func parseImageSize(s string) (w, h int, err error) {
	ws, hs, two := strings.Cut(strings.ToLower(s), "x")
	if w, err = strconv.Atoi(ws); err == nil && two {
		h, err = strconv.Atoi(hs)
	} else {
		h = w
	}
	if err != nil || w <= 0 || h <= 0 || w > 1<<16 || h > 1<<16 {
		return 0, 0, fmt.Errorf("--size %q: want N or WxH, positive", s)
	}
	return w, h, nil
}

// isRecordError reports whether err is a bad record.
func isRecordError(err error) bool {
	var re *datasets.RecordError
	return errors.As(err, &re)
}
