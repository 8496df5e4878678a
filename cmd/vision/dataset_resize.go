package main

import (
	"fmt"
	"runtime"
	"strconv"

	"github.com/spf13/cobra"

	"govision.dev/datasets"
)

func newDatasetResizeCmd(g *globals) *cobra.Command {
	var src datasetSource
	var size string
	var letterbox, asJSON bool
	var quality int
	cmd := &cobra.Command{
		Use:   "resize SRC DST --size 416 [--letterbox]",
		Short: "Resize every image of a data set, and its annotations with it",
		Long: `resize writes SRC to DST in the same format with every image resized: to fit
inside --size (N or WxH) keeping its aspect ratio, as ImageMagick's -resize
does, or with --letterbox to exactly that size, fitted and centred on a grey
canvas as darknet's letterbox does. Boxes, masks and class maps are
transformed with the images. The work runs on --threads goroutines (default
GOMAXPROCS); JPEGs are written at --quality.

An interrupted run leaves DST's temporary folder; running the same command
again resumes it, keeping the images already written.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, h, err := parseImageSize(size)
			if err != nil {
				return err
			}
			if quality < 1 || quality > 100 {
				return fmt.Errorf("--quality %d: want 1 to 100", quality)
			}
			r, f, err := src.open(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			var t datasets.Transform = datasets.Resize{Width: w, Height: h, Fit: true}
			if letterbox {
				t = datasets.Letterbox{Width: w, Height: h}
			}
			out, err := datasets.CreateOutput(args[1], datasets.OutputOptions{Inputs: datasetInputs(args[0]), Resume: true,
				Task: datasetTask("resize", args[0], string(f), size, strconv.FormatBool(letterbox), strconv.Itoa(quality), src.split)})
			if err != nil {
				return err
			}
			if out.Resumed {
				g.say("resuming the interrupted run in %s", out.Dir)
			}
			wr, err := datasets.Create(out.Dir, f, r.Classes())
			if err != nil {
				return g.finishOutput(out, err, false)
			}
			workers := g.threads
			if workers <= 0 {
				workers = runtime.GOMAXPROCS(0)
			}
			bar := newDatasetBar(g, "resize", r.Len())
			rep, err := datasets.Transcode(cmd.Context(), r, wr, t, datasets.TranscodeOptions{
				Workers: workers, Quality: quality, Dir: out.Dir, Resume: true, Progress: bar.set})
			bar.finish()
			if rep != nil {
				g.badRecords(nil, rep.Bad)
			}
			if err := g.finishOutput(out, err, true); err != nil {
				return err
			}
			return g.finishReport(cmd.OutOrStdout(), asJSON, "resized", newReport(args[0], f, args[1], f, rep))
		},
	}
	src.flags(cmd, "format")
	cmd.Flags().StringVar(&size, "size", "", "target size: N (N×N) or WxH")
	cmd.MarkFlagRequired("size")
	cmd.Flags().BoolVar(&letterbox, "letterbox", false, "pad to exactly --size, keeping the aspect ratio")
	cmd.Flags().IntVar(&quality, "quality", 95, "JPEG quality")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
