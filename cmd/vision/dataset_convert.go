package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"govision.dev/datasets"
)

// datasetReport is what the writing commands print with --json.
type datasetReport struct {
	Source  string         `json:"source"`
	From    string         `json:"from"`
	Output  string         `json:"output"`
	To      string         `json:"to"`
	Records int            `json:"records"`
	Objects int            `json:"objects"`
	Bad     []string       `json:"bad"`
	Dropped datasets.Drops `json:"dropped"`
	Splits  map[string]int `json:"splits,omitempty"`
	Shards  int            `json:"shards,omitempty"`
}

func newReport(src string, from datasets.Format, dst string, to datasets.Format, rep *datasets.Report) datasetReport {
	r := datasetReport{Source: src, From: string(from), Output: dst, To: string(to), Bad: []string{}, Dropped: datasets.Drops{}}
	if rep != nil {
		r.Records, r.Objects = rep.Records, rep.Objects
		for _, b := range rep.Bad {
			r.Bad = append(r.Bad, b.Error())
		}
		if rep.Dropped != nil {
			r.Dropped = rep.Dropped
		}
	}
	return r
}

// finishReport prints the report (JSON on stdout, or a summary on
// stderr) and returns the command's error: the bad records', if any.
func (g *globals) finishReport(out io.Writer, asJSON bool, verb string, r datasetReport) error {
	if asJSON {
		if err := writeJSON(out, r); err != nil {
			return err
		}
	} else {
		g.say("%s %d images (%d objects) from %s (%s) to %s (%s)", verb, r.Records, r.Objects, r.Source, r.From, r.Output, r.To)
		if len(r.Dropped) > 0 {
			g.say("dropped, as %s cannot hold them: %s", r.To, r.Dropped)
		}
	}
	if len(r.Bad) > 0 {
		return errBadRecords(len(r.Bad), verb+" the rest")
	}
	return nil
}

// checkPair refuses conversions that make no sense and says how a
// classification set becomes a detection one.
func checkPair(g *globals, from, to datasets.Format) (classBoxes bool, err error) {
	if !slices.Contains(datasetWritable, to) {
		return false, fmt.Errorf("%w: cannot write %s", datasets.ErrUnsupported, to)
	}
	if classification(to) && (from.Detection() && from != datasets.ShardsFormat || from == datasets.ImagesFormat) {
		return false, fmt.Errorf("%w: %s has no image classes to make %s from", datasets.ErrUnsupported, from, to)
	}
	if classification(from) && to.Detection() && to != datasets.ShardsFormat {
		g.say("each image's class becomes a box covering the whole image")
		return true, nil
	}
	return false, nil
}

func newDatasetConvertCmd(g *globals) *cobra.Command {
	var src datasetSource
	var to string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "convert --to FORMAT SRC DST",
		Short: "Convert a data set between VOC, COCO, YOLO and ImageFolder",
		Long: `convert reads SRC (--from, detected by default) and writes DST in --to:
voc, coco, yolo (detection), imagefolder, mnist, cifar10, cifar100
(classification), images, shards. Images are copied byte for byte.

Attributes DST's format cannot hold are counted and reported as dropped
(VOC's difficult, truncated and pose in YOLO; COCO's masks, iscrowd and
annotation ids in VOC and YOLO; …). A classification set written as a
detection one gets one box per image, covering it; a detection set cannot
be written as a classification one.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := datasets.ParseFormat(to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			r, from, err := src.open(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			classBoxes, err := checkPair(g, from, target)
			if err != nil {
				return err
			}
			out, err := datasets.CreateOutput(args[1], datasets.OutputOptions{Inputs: datasetInputs(args[0]),
				Task: datasetTask("convert", args[0], "--from", string(from), "--to", string(target), "--split", src.split)})
			if err != nil {
				return err
			}
			w, err := datasets.Create(out.Dir, target, r.Classes())
			if err != nil {
				return g.finishOutput(out, err, false)
			}
			bar := newDatasetBar(g, "convert", r.Len())
			opt := datasets.ConvertOptions{Progress: bar.set}
			if classBoxes {
				opt.Map = func(_ int, rec *datasets.Record) (*datasets.Record, error) { return datasets.ClassBox(rec) }
			}
			rep, err := datasets.Convert(cmd.Context(), r, w, opt)
			bar.finish()
			if rep != nil {
				g.badRecords(nil, rep.Bad)
			}
			if err := g.finishOutput(out, err, false); err != nil {
				return err
			}
			return g.finishReport(cmd.OutOrStdout(), asJSON, "converted", newReport(args[0], from, args[1], target, rep))
		},
	}
	src.flags(cmd, "from")
	cmd.Flags().StringVar(&to, "to", "", "format of DST: voc, coco, yolo, imagefolder, images, mnist, cifar10, cifar100, shards")
	cmd.MarkFlagRequired("to")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func newDatasetSplitCmd(g *globals) *cobra.Command {
	var src datasetSource
	var ratios, names, outDir string
	var seed uint64
	var stratify, asJSON bool
	cmd := &cobra.Command{
		Use:   "split SRC --ratios 0.8,0.1,0.1 [--seed 1] [--stratify] [--out DST]",
		Short: "Split a data set into train, val and test at random, reproducibly",
		Long: `split assigns each image of SRC to a split at random — shuffled with --seed,
then cut in the --ratios (normalised) — and writes the data set, in its own
format, with those splits to --out (default SRC-split): VOC's
ImageSets/Main/SPLIT.txt, COCO's instances_SPLIT.json, YOLO's images/SPLIT
and labels/SPLIT, ImageFolder's SPLIT/CLASS folders.

--stratify cuts each class in the ratios: by the image's class, or for a
detection set by its rarest object class, so that rare classes reach every
split.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rs []float64
			for f := range strings.SplitSeq(ratios, ",") {
				v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
				if err != nil || v < 0 {
					return fmt.Errorf("--ratios %q: want non-negative numbers separated by commas", ratios)
				}
				rs = append(rs, v)
			}
			nameList := strings.Split(names, ",")
			if len(rs) > len(nameList) {
				return fmt.Errorf("--ratios has %d parts, --names %d", len(rs), len(nameList))
			}
			dst := outDir
			if dst == "" {
				dst = strings.TrimRight(args[0], "/\\") + "-split"
			}
			// First pass: every record's classes, for the strata.
			r, f, err := src.open(args[0])
			if err != nil {
				return err
			}
			var classes [][]int
			for {
				if err := cmd.Context().Err(); err != nil {
					r.Close()
					return err
				}
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if isRecordError(err) {
					classes = append(classes, nil)
					continue
				}
				if err != nil {
					r.Close()
					return err
				}
				var cs []int
				if rec.Class >= 0 {
					cs = append(cs, rec.Class)
				}
				for _, o := range rec.Objects {
					cs = append(cs, o.Class)
				}
				classes = append(classes, cs)
			}
			r.Close()
			assigned, err := datasets.AssignSplits(len(classes), datasets.Strata(classes),
				datasets.SplitOptions{Ratios: rs, Names: nameList, Seed: seed, Stratify: stratify})
			if err != nil {
				return err
			}
			// Second pass: write with the splits.
			if r, _, err = src.open(args[0]); err != nil {
				return err
			}
			defer r.Close()
			out, err := datasets.CreateOutput(dst, datasets.OutputOptions{Inputs: datasetInputs(args[0]),
				Task: datasetTask("split", args[0], ratios, names, strconv.FormatUint(seed, 10), strconv.FormatBool(stratify))})
			if err != nil {
				return err
			}
			w, err := datasets.Create(out.Dir, f, r.Classes())
			if err != nil {
				return g.finishOutput(out, err, false)
			}
			counts := map[string]int{}
			bar := newDatasetBar(g, "split", r.Len())
			rep, err := datasets.Convert(cmd.Context(), r, w, datasets.ConvertOptions{Progress: bar.set,
				Map: func(seq int, rec *datasets.Record) (*datasets.Record, error) {
					if seq >= len(assigned) {
						return nil, fmt.Errorf("%s changed while it was being split", args[0])
					}
					rec.Split = assigned[seq]
					counts[rec.Split]++
					return rec, nil
				}})
			bar.finish()
			if rep != nil {
				g.badRecords(nil, rep.Bad)
			}
			if err := g.finishOutput(out, err, false); err != nil {
				return err
			}
			report := newReport(args[0], f, dst, f, rep)
			report.Splits = counts
			if !asJSON {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, "split\timages\tshare\t")
				for _, name := range nameList[:len(rs)] {
					fmt.Fprintf(tw, "%s\t%d\t%.3f\t\n", name, counts[name], float64(counts[name])/float64(max(rep.Records, 1)))
				}
				tw.Flush()
			}
			return g.finishReport(cmd.OutOrStdout(), asJSON, "split", report)
		},
	}
	src.flags(cmd, "format")
	cmd.Flags().StringVar(&ratios, "ratios", "0.8,0.1,0.1", "shares of the splits, comma-separated")
	cmd.Flags().StringVar(&names, "names", "train,val,test", "names of the splits, comma-separated")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the shuffle")
	cmd.Flags().BoolVar(&stratify, "stratify", false, "split each class in the ratios")
	cmd.Flags().StringVar(&outDir, "out", "", "output folder (default SRC-split)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func newDatasetPackCmd(g *globals) *cobra.Command {
	var src datasetSource
	var size string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "pack SRC DST [--shard-size 256MB]",
		Short: "Pack a data set into sharded record files for fast sequential reading",
		Long: `pack writes every record of SRC — its image bytes as they are, its
annotations, masks and class map — into shard files DST/shard-NNNNN.gvrec of
about --shard-size each, every record with a CRC-32C (the format is
documented in govision.dev/datasets, shard.go). unpack writes them back.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			limit, err := parseByteSize(size)
			if err != nil {
				return fmt.Errorf("--shard-size: %w", err)
			}
			r, from, err := src.open(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			out, err := datasets.CreateOutput(args[1], datasets.OutputOptions{Inputs: datasetInputs(args[0]),
				Task: datasetTask("pack", args[0], size, src.split)})
			if err != nil {
				return err
			}
			w, err := datasets.NewShardWriter(out.Dir, r.Classes(), datasets.ShardOptions{Size: limit, Format: from})
			if err != nil {
				return g.finishOutput(out, err, false)
			}
			bar := newDatasetBar(g, "pack", r.Len())
			rep, err := datasets.Convert(cmd.Context(), r, w, datasets.ConvertOptions{Progress: bar.set})
			bar.finish()
			if rep != nil {
				g.badRecords(nil, rep.Bad)
			}
			if err := g.finishOutput(out, err, false); err != nil {
				return err
			}
			report := newReport(args[0], from, args[1], datasets.ShardsFormat, rep)
			report.Shards = w.Shards()
			return g.finishReport(cmd.OutOrStdout(), asJSON, "packed", report)
		},
	}
	src.flags(cmd, "format")
	cmd.Flags().StringVar(&size, "shard-size", "256MB", "size of a shard (kB, MB, GB or KiB, MiB, GiB)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func newDatasetUnpackCmd(g *globals) *cobra.Command {
	var to, split string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "unpack SRC DST [--to FORMAT]",
		Short: "Write the records of shard files back as a data set",
		Long: `unpack reads the shards in SRC, checking each record's CRC, and writes the
data set to DST in --to (default: the format they were packed from).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sh, err := datasets.OpenShards(args[0], split)
			if err != nil {
				return err
			}
			defer sh.Close()
			target := sh.Format()
			if to != "" {
				if target, err = datasets.ParseFormat(to); err != nil {
					return fmt.Errorf("--to: %w", err)
				}
			}
			if target == "" || target == datasets.ShardsFormat {
				return errors.New("the shards do not say what format they were packed from; name one with --to")
			}
			classBoxes := false
			if sh.Format() != "" {
				if classBoxes, err = checkPair(g, sh.Format(), target); err != nil {
					return err
				}
			}
			out, err := datasets.CreateOutput(args[1], datasets.OutputOptions{Inputs: datasetInputs(args[0]),
				Task: datasetTask("unpack", args[0], string(target), split)})
			if err != nil {
				return err
			}
			w, err := datasets.Create(out.Dir, target, sh.Classes())
			if err != nil {
				return g.finishOutput(out, err, false)
			}
			bar := newDatasetBar(g, "unpack", sh.Len())
			opt := datasets.ConvertOptions{Progress: bar.set}
			if classBoxes {
				opt.Map = func(_ int, rec *datasets.Record) (*datasets.Record, error) { return datasets.ClassBox(rec) }
			}
			rep, err := datasets.Convert(cmd.Context(), sh, w, opt)
			bar.finish()
			if rep != nil {
				g.badRecords(nil, rep.Bad)
			}
			if err := g.finishOutput(out, err, false); err != nil {
				return err
			}
			return g.finishReport(cmd.OutOrStdout(), asJSON, "unpacked", newReport(args[0], datasets.ShardsFormat, args[1], target, rep))
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "format of DST (default: the one packed from)")
	cmd.Flags().StringVar(&split, "split", "", "unpack only this split")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
