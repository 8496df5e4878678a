package darknet

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"govision.dev/vision/tensor"
)

// Header is the start of a .weights file: three int32 version numbers and
// the number of images seen in training, all little-endian.
type Header struct {
	Major, Minor, Revision int32
	Seen                   uint64
}

// SeenIs64 reports whether Seen is stored in 8 bytes (else 4), darknet's
// rule (parser.c: load_weights_upto): major·10 + minor ≥ 2, with major and
// minor below 1000.
func (h Header) SeenIs64() bool {
	return int64(h.Major)*10+int64(h.Minor) >= 2 && h.Major < 1000 && h.Minor < 1000
}

// Transposed reports whether connected layers' weights are stored
// transposed, [inputs][outputs]: major or minor above 1000, as darknet
// reads them.
func (h Header) Transposed() bool { return h.Major > 1000 || h.Minor > 1000 }

// Size is the header's length in bytes: 20, or 16 for old files.
func (h Header) Size() int {
	if h.SeenIs64() {
		return 20
	}
	return 16
}

// ReadHeader reads a weights file's header from r.
func ReadHeader(r io.Reader) (Header, error) {
	var b [20]byte
	if _, err := io.ReadFull(r, b[:12]); err != nil {
		return Header{}, headerErr(err)
	}
	h := Header{
		Major:    int32(binary.LittleEndian.Uint32(b[0:])),
		Minor:    int32(binary.LittleEndian.Uint32(b[4:])),
		Revision: int32(binary.LittleEndian.Uint32(b[8:])),
	}
	if h.SeenIs64() {
		if _, err := io.ReadFull(r, b[12:20]); err != nil {
			return Header{}, headerErr(err)
		}
		h.Seen = binary.LittleEndian.Uint64(b[12:])
	} else {
		if _, err := io.ReadFull(r, b[12:16]); err != nil {
			return Header{}, headerErr(err)
		}
		h.Seen = uint64(binary.LittleEndian.Uint32(b[12:]))
	}
	return h, nil
}

func headerErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return formatErr("truncated header")
	}
	return err
}

// chunk is one tensor of the weights file, in file order.
type chunk struct {
	layer int
	name  string
	data  []float32
}

// fileChunks lists the tensors a weights file holds for n, in order:
// every layer's Params except for layers with dontload (or, with save,
// dontsave), and a batch norm's values for layers with dontloadscales
// (when loading: darknet writes them anyway).
func (n *Net) fileChunks(save bool) []chunk {
	var cs []chunk
	for i, nd := range n.nodes {
		c := n.Config.Layers[i].Info().Common
		if !save && c.DontLoad || save && c.DontSave {
			continue
		}
		for _, p := range nd.params() {
			bn := p.Name == "scales" || p.Name == "rolling_mean" || p.Name == "rolling_variance"
			if bn && !save && c.DontLoadScales {
				continue
			}
			cs = append(cs, chunk{layer: i, name: p.Name, data: p.Tensor.Data()})
		}
	}
	return cs
}

// WeightsLen returns the number of float32 values a weights file for n
// holds after its header.
func (n *Net) WeightsLen() int64 {
	var total int64
	for _, c := range n.fileChunks(false) {
		total += int64(len(c.data))
	}
	return total
}

// runsOut describes the chunk in which a file of have floats ends.
func (n *Net) runsOut(cs []chunk, have int64) string {
	var at int64
	for _, c := range cs {
		if at+int64(len(c.data)) > have {
			return fmt.Sprintf("%s runs out in its %s (floats %d to %d)",
				kindOf(n.Config.Layers[c.layer]), c.name, at, at+int64(len(c.data)))
		}
		at += int64(len(c.data))
	}
	return ""
}

// LoadWeightsFile reads a .weights file into n (see LoadWeights). The
// file's length is checked against the cfg before anything is read, so a
// file of the wrong length leaves n unchanged.
func (n *Net) LoadWeightsFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("darknet: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("darknet: %w", err)
	}
	if !st.Mode().IsRegular() {
		return formatErr("darknet: %s: not a regular file", path)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	h, err := ReadHeader(br)
	if err != nil {
		return fmt.Errorf("darknet: %s: %w", path, err)
	}
	body := st.Size() - int64(h.Size())
	want := n.WeightsLen()
	if body != want*4 {
		msg := fmt.Sprintf("holds %d float32 values after its %d-byte header, the cfg %s needs %d",
			body/4, h.Size(), n.Config.File, want)
		if body%4 != 0 {
			msg += fmt.Sprintf(" (and %d stray bytes)", body%4)
		}
		if body/4 < want {
			msg += ": " + n.runsOut(n.fileChunks(false), body/4)
		}
		return formatErr("darknet: %s: %s", path, msg)
	}
	return n.loadBody(path, br, h)
}

// LoadWeights reads darknet weights from r into n: the header, then for
// each layer in cfg order (darknet's load_weights_upto) a convolution's
// biases, batch-norm scales, rolling means and rolling variances (with
// batch_normalize=1) and weights; a connected layer's biases, weights
// (stored transposed when the header's major or minor exceeds 1000) and
// batch norm; a local layer's biases and weights. All values are
// little-endian float32. Layers with dontload=1 are skipped, as are the
// batch-norm values of layers with dontloadscales=1. A convolution with
// flipped=1 has its weights stored transposed.
//
// Data that ends early or goes on after the last layer is an error
// wrapping ErrFormat that says how many floats the cfg needs and which
// layer ran out. After an error, n's weights are unspecified (Load
// returns no network then).
func (n *Net) LoadWeights(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	h, err := ReadHeader(br)
	if err != nil {
		return fmt.Errorf("darknet: weights: %w", err)
	}
	return n.loadBody("weights", br, h)
}

func (n *Net) loadBody(name string, r io.Reader, h Header) error {
	cs := n.fileChunks(false)
	var total int64
	for _, c := range cs {
		total += int64(len(c.data))
	}
	buf := make([]byte, 1<<16)
	var read int64
	for _, c := range cs {
		dst := c.data
		for len(dst) > 0 {
			k := min(len(dst), len(buf)/4)
			got, err := io.ReadFull(r, buf[:k*4])
			for i := 0; i < got/4; i++ {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			}
			read += int64(got / 4)
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return formatErr("darknet: %s: ends after %d float32 values, the cfg %s needs %d: %s",
						name, read, n.Config.File, total, n.runsOut(cs, read))
				}
				return fmt.Errorf("darknet: %s: %w", name, err)
			}
			dst = dst[k:]
		}
	}
	var one [1]byte
	if k, _ := io.ReadFull(r, one[:]); k > 0 {
		return formatErr("darknet: %s: longer than the cfg %s needs: %d float32 values expected, more follow",
			name, n.Config.File, total)
	}
	n.Header = h
	for i, nd := range n.nodes {
		switch nd := nd.(type) {
		case *convNode:
			if nd.cfg.Flipped && !nd.cfg.DontLoad {
				// darknet: transpose_matrix(weights, c·size·size, n).
				transposeInPlace(nd.weights, nd.weights.Len()/nd.cfg.Filters, nd.cfg.Filters)
			}
		case *connectedNode:
			if h.Transposed() && !n.Config.Layers[i].Info().DontLoad {
				// darknet: transpose_matrix(weights, inputs, outputs).
				transposeInPlace(nd.weights, nd.inputs, nd.cfg.Output)
			}
		}
	}
	n.Refresh()
	return nil
}

// transposeInPlace turns t's values, a rows×cols matrix, into its
// cols×rows transpose.
func transposeInPlace(t *tensor.Tensor, rows, cols int) {
	d := t.Data()
	tmp := make([]float32, len(d))
	transpose(tmp, d, rows, cols)
	copy(d, tmp)
}

func transpose(dst, src []float32, rows, cols int) {
	for x := 0; x < rows; x++ {
		for y := 0; y < cols; y++ {
			dst[y*rows+x] = src[x*cols+y]
		}
	}
}

// WriteWeights writes n's weights in darknet's format, as darknet's
// save_weights: the header (major 0, minor 2, revision 0, and Seen as 8
// bytes), then every layer's tensors in the order LoadWeights reads them,
// skipping layers with dontsave=1. Connected layers' weights are written
// untransposed; a flipped convolution's weights transposed back, so that
// LoadWeights with the same cfg reads back the same network.
func (n *Net) WriteWeights(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var b [20]byte
	binary.LittleEndian.PutUint32(b[0:], 0)
	binary.LittleEndian.PutUint32(b[4:], 2)
	binary.LittleEndian.PutUint32(b[8:], 0)
	binary.LittleEndian.PutUint64(b[12:], n.Header.Seen)
	if _, err := bw.Write(b[:]); err != nil {
		return err
	}
	var f [4]byte
	for _, c := range n.fileChunks(true) {
		data := c.data
		if nd, ok := n.nodes[c.layer].(*convNode); ok && c.name == "weights" && nd.cfg.Flipped {
			data = make([]float32, len(c.data))
			transpose(data, c.data, nd.cfg.Filters, len(c.data)/nd.cfg.Filters)
		}
		for _, v := range data {
			binary.LittleEndian.PutUint32(f[:], math.Float32bits(v))
			if _, err := bw.Write(f[:]); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// SaveWeights writes n's weights (see WriteWeights) to path atomically: to
// a temporary file in the same folder, synced, then renamed over path.
func (n *Net) SaveWeights(path string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("darknet: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("darknet: saving %s: %w", path, err)
		}
	}()
	if err = n.WriteWeights(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
