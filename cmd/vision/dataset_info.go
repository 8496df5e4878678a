package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"govision.dev/datasets"
)

// datasetInfo is what `vision dataset info --json` prints.
type datasetInfo struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	*datasets.Summary
	BadRecords []string `json:"bad,omitempty"`
}

func newDatasetInfoCmd(g *globals) *cobra.Command {
	var src datasetSource
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info SRC",
		Short: "Count images, objects per class, boxes per image and image sizes",
		Long: `info reads every annotation of SRC (and the header of each image whose size
the annotations do not give) and prints the counts: images per split,
objects and images per class, objects per image, image sizes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, f, err := src.open(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			bar := newDatasetBar(g, "info", r.Len())
			s, bad, err := datasets.Summarize(cmd.Context(), r, bar.set)
			bar.finish()
			g.badRecords(nil, bad)
			if err != nil {
				return err
			}
			if asJSON {
				info := datasetInfo{Path: args[0], Format: string(f), Summary: s}
				for _, b := range bad {
					info.BadRecords = append(info.BadRecords, b.Error())
				}
				if err := writeJSON(cmd.OutOrStdout(), info); err != nil {
					return err
				}
			} else if err := writeSummary(cmd.OutOrStdout(), args[0], f, s); err != nil {
				return err
			}
			if len(bad) > 0 {
				return errBadRecords(len(bad), "the counts leave them out")
			}
			return nil
		},
	}
	src.flags(cmd, "format")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// writeSummary prints a Summary as two tables: the data set, then the
// classes.
func writeSummary(w io.Writer, path string, f datasets.Format, s *datasets.Summary) error {
	images := itoa(s.Images)
	if len(s.Splits) > 0 {
		var parts []string
		for _, k := range sortedKeys(s.Splits) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Splits[k]))
		}
		images += " (" + strings.Join(parts, ", ") + ")"
	}
	rows := [][2]string{
		{"path", path},
		{"format", string(f)},
		{"images", images},
		{"classes", itoa(len(s.Classes))},
	}
	if s.Objects > 0 || f.Detection() {
		rows = append(rows, [2]string{"objects", fmt.Sprintf("%d (per image: min %g, mean %.2f, max %g)", s.Objects, s.PerImage.Min, s.PerImage.Mean, s.PerImage.Max)})
	}
	if s.Images > 0 {
		rows = append(rows, [2]string{"image size", fmt.Sprintf("width %g–%g (mean %.0f), height %g–%g (mean %.0f)",
			s.Width.Min, s.Width.Max, s.Width.Mean, s.Height.Min, s.Height.Max, s.Height.Mean)})
		var common []string
		for _, sz := range s.Sizes[:min(len(s.Sizes), 5)] {
			common = append(common, fmt.Sprintf("%dx%d ×%d", sz.W, sz.H, sz.Count))
		}
		rows = append(rows, [2]string{"common sizes", strings.Join(common, ", ")})
	}
	for _, kv := range []struct {
		k string
		v int
	}{{"difficult", s.Difficult}, {"crowd", s.Crowd}, {"masks", s.Masks}, {"segmented", s.Segmented}, {"unlabelled", s.Unlabelled}, {"bad records", s.Bad}} {
		if kv.v > 0 {
			rows = append(rows, [2]string{kv.k, itoa(kv.v)})
		}
	}
	if err := writeTable(w, rows); err != nil {
		return err
	}
	if len(s.Classes) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	ids := slices.ContainsFunc(s.Classes, func(c datasets.ClassCount) bool { return c.ID != 0 })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if ids {
		fmt.Fprintln(tw, "index\tid\tclass\timages\tobjects\t")
	} else {
		fmt.Fprintln(tw, "index\tclass\timages\tobjects\t")
	}
	for i, c := range s.Classes {
		if ids {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%d\t\n", i, c.ID, c.Name, c.Images, c.Objects)
		} else {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t\n", i, c.Name, c.Images, c.Objects)
		}
	}
	return tw.Flush()
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// datasetVerify is what `vision dataset verify --json` prints.
type datasetVerify struct {
	Path     string             `json:"path"`
	Format   string             `json:"format"`
	Records  int                `json:"records"`
	Problems []datasets.Problem `json:"problems"`
}

func newDatasetVerifyCmd(g *globals) *cobra.Command {
	var src datasetSource
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify SRC",
		Short: "Check that images decode, boxes lie inside them, labels are known, IDs unique",
		Long: `verify decodes every image of SRC (on --threads goroutines) and checks it
against its annotations: the image decodes and has the size the annotation
says, every box lies inside its image and is not empty, every class is in
the class list, masks fit their image, and no image ID, image file or
annotation id appears twice. Each problem is printed as FILE[:LINE]: WHAT;
any problem makes the exit status non-zero.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, f, err := src.open(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			bar := newDatasetBar(g, "verify", r.Len())
			probs, n, err := datasets.Verify(cmd.Context(), r, datasets.InspectOptions{Workers: g.threads, Progress: bar.set})
			bar.finish()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if probs == nil {
					probs = []datasets.Problem{}
				}
				if err := writeJSON(out, datasetVerify{Path: args[0], Format: string(f), Records: n, Problems: probs}); err != nil {
					return err
				}
			} else {
				for _, p := range probs {
					fmt.Fprintln(out, p)
				}
			}
			if len(probs) > 0 {
				return fmt.Errorf("%s: %d problem%s in %d records", args[0], len(probs), plural(len(probs)), n)
			}
			g.say("%s: %d records, no problems", args[0], n)
			return nil
		},
	}
	src.flags(cmd, "format")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// datasetStats is what `vision dataset stats --json` prints.
type datasetStats struct {
	Path string `json:"path"`
	datasets.ChannelStats
}

func newDatasetStatsCmd(g *globals) *cobra.Command {
	var src datasetSource
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats SRC",
		Short: "Per-channel mean and standard deviation, for normalisation",
		Long: `stats decodes every image of SRC and prints the mean and standard deviation
of the red, green and blue values on the [0, 1] scale over all pixels: the
arguments of torchvision's Normalize(mean, std).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, _, err := src.open(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			bar := newDatasetBar(g, "stats", r.Len())
			st, bad, err := datasets.Stats(cmd.Context(), r, datasets.InspectOptions{Workers: g.threads, Progress: bar.set})
			bar.finish()
			g.badRecords(nil, bad)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(out, datasetStats{Path: args[0], ChannelStats: st}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "channel\tmean\tstd")
				for c, name := range []string{"red", "green", "blue"} {
					fmt.Fprintf(tw, "%s\t%.4f\t%.4f\n", name, st.Mean[c], st.Std[c])
				}
				tw.Flush()
				fmt.Fprintf(out, "\n%d images, %d pixels; Normalize(mean=[%.4f, %.4f, %.4f], std=[%.4f, %.4f, %.4f])\n",
					st.Images, st.Pixels, st.Mean[0], st.Mean[1], st.Mean[2], st.Std[0], st.Std[1], st.Std[2])
			}
			if len(bad) > 0 {
				return errBadRecords(len(bad), "the statistics leave them out")
			}
			return nil
		},
	}
	src.flags(cmd, "format")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
