package train

import (
	"bytes"
	"fmt"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"govision.dev/vision/checkpoint"
)

var (
	trainColor = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	testColor  = color.RGBA{R: 255, G: 127, B: 14, A: 255}
)

// WriteCurves draws the loss and the accuracy per epoch, train and test,
// side by side, as a PNG at path (atomically).
func WriteCurves(path string, epochs []Epoch) error {
	if len(epochs) == 0 {
		return nil
	}
	series := func(f func(Epoch) float64) plotter.XYs {
		xy := make(plotter.XYs, len(epochs))
		for i, e := range epochs {
			xy[i].X, xy[i].Y = float64(e.Epoch), f(e)
		}
		return xy
	}
	panel := func(title, ylabel string, train, test plotter.XYs) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = ylabel
		p.Add(plotter.NewGrid())
		for _, s := range []struct {
			name string
			xy   plotter.XYs
			c    color.Color
		}{{"train", train, trainColor}, {"test", test, testColor}} {
			l, pts, err := plotter.NewLinePoints(s.xy)
			if err != nil {
				return nil, err
			}
			l.Color, pts.Color = s.c, s.c
			p.Add(l, pts)
			p.Legend.Add(s.name, l, pts)
		}
		p.Legend.Top = true
		return p, nil
	}
	loss, err := panel("Loss", "cross-entropy", series(func(e Epoch) float64 { return e.TrainLoss }), series(func(e Epoch) float64 { return e.TestLoss }))
	if err != nil {
		return err
	}
	acc, err := panel("Accuracy", "percent", series(func(e Epoch) float64 { return e.TrainAcc }), series(func(e Epoch) float64 { return e.TestAcc }))
	if err != nil {
		return err
	}
	acc.Legend.Top = false
	img := vgimg.New(12*vg.Inch, 4.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{loss, acc}}, tiles, dc)
	loss.Draw(canvases[0][0])
	acc.Draw(canvases[0][1])
	return writePNG(path, img)
}

// confusionGrid is a confusion matrix as a plotter.GridXYZ: column x the
// predicted class, row y the true one, value the fraction of the row.
type confusionGrid struct {
	m [][]int
}

func (g confusionGrid) Dims() (c, r int) { return len(g.m), len(g.m) }
func (g confusionGrid) X(c int) float64  { return float64(c) }
func (g confusionGrid) Y(r int) float64  { return float64(r) }
func (g confusionGrid) Z(c, r int) float64 {
	n := 0
	for _, v := range g.m[r] {
		n += v
	}
	if n == 0 {
		return 0
	}
	return float64(g.m[r][c]) / float64(n)
}

// WriteConfusion draws the confusion matrix (true class down, predicted
// across, each cell's count written in it, shaded by its share of the
// row) as a PNG at path (atomically).
func WriteConfusion(path string, confusion [][]int, title string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "predicted"
	p.Y.Label.Text = "true"
	hm := plotter.NewHeatMap(confusionGrid{confusion}, blues{})
	hm.Min, hm.Max = 0, 1
	p.Add(hm)
	var labels plotter.XYLabels
	for r, row := range confusion {
		for c, v := range row {
			labels.XYs = append(labels.XYs, plotter.XY{X: float64(c), Y: float64(r)})
			labels.Labels = append(labels.Labels, strconv.Itoa(v))
		}
	}
	l, err := plotter.NewLabels(labels)
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].XAlign = draw.XCenter
		l.TextStyle[i].YAlign = draw.YCenter
		l.TextStyle[i].Font.Size = vg.Points(8)
		r, c := int(labels.XYs[i].Y), int(labels.XYs[i].X)
		if (confusionGrid{confusion}).Z(c, r) > 0.5 {
			l.TextStyle[i].Color = color.White
		}
	}
	p.Add(l)
	ticks := make([]plot.Tick, len(confusion))
	for i := range ticks {
		ticks[i] = plot.Tick{Value: float64(i), Label: strconv.Itoa(i)}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -0.5, float64(len(confusion))-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(len(confusion))-0.5
	p.Y.Scale = flip{n: len(confusion)}
	p.Y.Tick.Marker = flipTicks{ticks}
	img := vgimg.New(7*vg.Inch, 6.5*vg.Inch)
	p.Draw(draw.New(img))
	return writePNG(path, img)
}

// flip draws the first class at the top, as confusion matrices are read.
type flip struct{ n int }

func (f flip) Normalize(min, max, x float64) float64 { return (max - x) / (max - min) }

type flipTicks struct{ t []plot.Tick }

func (f flipTicks) Ticks(min, max float64) []plot.Tick { return f.t }

// blues is a white-to-blue palette.
type blues struct{}

func (blues) Colors() []color.Color {
	cs := make([]color.Color, 64)
	for i := range cs {
		t := float64(i) / float64(len(cs)-1)
		cs[i] = color.RGBA{R: uint8(247 - t*(247-8)), G: uint8(251 - t*(251-48)), B: uint8(255 - t*(255-107)), A: 255}
	}
	return cs
}

var _ palette.Palette = blues{}

func writePNG(path string, img *vgimg.Canvas) error {
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	return checkpoint.WriteFile(path, b.Bytes())
}
