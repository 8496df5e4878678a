package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// testImage is a w×h image of four flat quadrants (red, green / blue,
// white), big enough for JPEG to keep each quadrant's centre.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, quadrantColor(x < w/2, y < h/2))
		}
	}
	return img
}

func quadrantColor(left, top bool) color.NRGBA {
	switch {
	case left && top:
		return color.NRGBA{255, 0, 0, 255}
	case top:
		return color.NRGBA{0, 255, 0, 255}
	case left:
		return color.NRGBA{0, 0, 255, 255}
	}
	return color.NRGBA{255, 255, 255, 255}
}

// encoders of the formats Go can write, for the decode tests and the fuzz
// seeds; lossy ones give the tolerance their colours need.
var encoders = []struct {
	name   string
	encode func(io.Writer, image.Image) error
	tol    int
}{
	{"png", png.Encode, 0},
	{"jpeg", func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, &jpeg.Options{Quality: 95}) }, 24},
	{"gif", func(w io.Writer, m image.Image) error { return gif.Encode(w, m, nil) }, 0},
	{"bmp", bmp.Encode, 0},
	{"tiff", func(w io.Writer, m image.Image) error { return tiff.Encode(w, m, nil) }, 0},
	{"tiff-deflate", func(w io.Writer, m image.Image) error {
		return tiff.Encode(w, m, &tiff.Options{Compression: tiff.Deflate, Predictor: true})
	}, 0},
}

func encode(t testing.TB, enc func(io.Writer, image.Image) error, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := enc(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func near(a, b color.Color, tol int) bool {
	x := color.NRGBAModel.Convert(a).(color.NRGBA)
	y := color.NRGBAModel.Convert(b).(color.NRGBA)
	for _, d := range []int{int(x.R) - int(y.R), int(x.G) - int(y.G), int(x.B) - int(y.B), int(x.A) - int(y.A)} {
		if d > tol || -d > tol {
			return false
		}
	}
	return true
}

// onlyReader hides everything but Read: the non-seekable path.
type onlyReader struct{ io.Reader }

func TestDecodeFormats(t *testing.T) {
	src := testImage(32, 16)
	for _, e := range encoders {
		data := encode(t, e.encode, src)
		for _, via := range []struct {
			name string
			r    func() io.Reader
		}{
			{"seeker", func() io.Reader { return bytes.NewReader(data) }},
			{"stream", func() io.Reader { return onlyReader{bytes.NewReader(data)} }},
		} {
			t.Run(e.name+"/"+via.name, func(t *testing.T) {
				img, err := Decode(via.r())
				if err != nil {
					t.Fatal(err)
				}
				if img.Bounds() != src.Bounds() {
					t.Fatalf("bounds %v, want %v", img.Bounds(), src.Bounds())
				}
				for _, p := range []image.Point{{8, 4}, {24, 4}, {8, 12}, {24, 12}} {
					if got, want := img.At(p.X, p.Y), src.At(p.X, p.Y); !near(got, want, e.tol) {
						t.Errorf("pixel %v: %v, want %v", p, got, want)
					}
				}
			})
		}
	}
}

func TestDecodeSeekerNotAtStart(t *testing.T) {
	data := encode(t, png.Encode, testImage(6, 4))
	r := bytes.NewReader(append([]byte("prefix"), data...))
	r.Seek(6, io.SeekStart)
	img, err := Decode(r)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 6 {
		t.Fatalf("bounds %v", img.Bounds())
	}
}

// TestDecodeWebP reads WebP files written by Pillow (tools/golden/imageio.py),
// since Go has no WebP encoder: lossless must give tiny.png's pixels
// exactly, lossy ones nearly.
func TestDecodeWebP(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	want, err := DecodeFile(filepath.Join(dir, "tiny.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file     string
		tol      int
		hasAlpha bool
	}{
		{"tiny_lossless.webp", 0, false},
		{"tiny_lossy.webp", 48, false},
		{"tiny_alpha.webp", 48, true},
	} {
		t.Run(c.file, func(t *testing.T) {
			img, err := DecodeFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != want.Bounds() {
				t.Fatalf("bounds %v, want %v", img.Bounds(), want.Bounds())
			}
			b := img.Bounds()
			translucent := 0
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					g := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					w := color.NRGBAModel.Convert(want.At(x, y)).(color.NRGBA)
					if c.hasAlpha {
						if g.A < 255 {
							translucent++
						}
						g.A, w.A = 255, 255
					}
					if !near(g, w, c.tol) {
						t.Fatalf("pixel (%d,%d): %v, want %v", x, y, g, w)
					}
				}
			}
			if c.hasAlpha && translucent == 0 {
				t.Error("every pixel is opaque; the file's alpha is a gradient")
			}
		})
	}
}

// jpegWithOrientation returns img as a JPEG whose EXIF APP1 segment, right
// after the SOI marker, holds orientation tag o (TIFF little-endian).
func jpegWithOrientation(t testing.TB, img image.Image, o uint16) []byte {
	t.Helper()
	data := encode(t, func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, &jpeg.Options{Quality: 95}) }, img)
	var tiffData bytes.Buffer
	le := binary.LittleEndian
	tiffData.WriteString("II")
	binary.Write(&tiffData, le, uint16(42))
	binary.Write(&tiffData, le, uint32(8)) // offset of IFD0
	binary.Write(&tiffData, le, uint16(1)) // one entry
	binary.Write(&tiffData, le, uint16(0x0112))
	binary.Write(&tiffData, le, uint16(3)) // SHORT
	binary.Write(&tiffData, le, uint32(1))
	binary.Write(&tiffData, le, o)
	binary.Write(&tiffData, le, uint16(0)) // value padding
	binary.Write(&tiffData, le, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiffData.Bytes()...)
	var seg bytes.Buffer
	seg.Write([]byte{0xff, 0xe1})
	binary.Write(&seg, binary.BigEndian, uint16(len(payload)+2))
	seg.Write(payload)
	out := append([]byte{}, data[:2]...) // SOI
	out = append(out, seg.Bytes()...)
	return append(out, data[2:]...)
}

func TestDecodeEXIFOrientation(t *testing.T) {
	const w, h = 32, 16
	src := testImage(w, h)
	// For each orientation, the stored pixel shown at display point (u, v)
	// (EXIF 2.3, tag 0x0112).
	for _, c := range []struct {
		o     uint16
		name  string
		swap  bool
		store func(u, v int) (int, int)
	}{
		{1, "normal", false, func(u, v int) (int, int) { return u, v }},
		{2, "mirrored", false, func(u, v int) (int, int) { return w - 1 - u, v }},
		{3, "rotated 180", false, func(u, v int) (int, int) { return w - 1 - u, h - 1 - v }},
		{4, "flipped", false, func(u, v int) (int, int) { return u, h - 1 - v }},
		{5, "transposed", true, func(u, v int) (int, int) { return v, u }},
		{6, "rotated 90 cw", true, func(u, v int) (int, int) { return v, h - 1 - u }},
		{7, "transversed", true, func(u, v int) (int, int) { return w - 1 - v, h - 1 - u }},
		{8, "rotated 90 ccw", true, func(u, v int) (int, int) { return w - 1 - v, u }},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := jpegWithOrientation(t, src, c.o)
			img, err := Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			dw, dh := w, h
			if c.swap {
				dw, dh = h, w
			}
			if img.Bounds() != image.Rect(0, 0, dw, dh) {
				t.Fatalf("bounds %v, want %dx%d", img.Bounds(), dw, dh)
			}
			for _, p := range []image.Point{{dw / 4, dh / 4}, {3 * dw / 4, dh / 4}, {dw / 4, 3 * dh / 4}, {3 * dw / 4, 3 * dh / 4}} {
				x, y := c.store(p.X, p.Y)
				if got, want := img.At(p.X, p.Y), src.At(x, y); !near(got, want, 24) {
					t.Errorf("display %v (stored (%d,%d)): %v, want %v", p, x, y, got, want)
				}
			}
			kept, err := Decoder{KeepOrientation: true}.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if kept.Bounds() != src.Bounds() {
				t.Errorf("KeepOrientation: bounds %v, want %v", kept.Bounds(), src.Bounds())
			}
		})
	}
}

// pngHeader returns a PNG signature and IHDR chunk claiming w×h RGB pixels,
// followed by a tiny IDAT that could never hold them.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

func TestDecodeRefusesBomb(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bomb.png")
	if err := os.WriteFile(path, pngHeader(60000, 60000), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := DecodeFile(path)
	if took := time.Since(start); took > time.Second {
		t.Errorf("refusing took %v", took)
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
	msg := err.Error()
	for _, want := range []string{"imageio: ", path, "60000x60000"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if !strings.HasPrefix(msg, "imageio: ") {
		t.Errorf("error %q does not start with the package", msg)
	}
}

func TestDecodeLimitEveryFormat(t *testing.T) {
	src := testImage(8, 6)
	for _, e := range encoders {
		t.Run(e.name, func(t *testing.T) {
			data := encode(t, e.encode, src)
			if _, err := (Decoder{MaxPixels: 47}).Decode(bytes.NewReader(data)); !errors.Is(err, ErrTooLarge) {
				t.Errorf("8x6 over a limit of 47: error %v, want ErrTooLarge", err)
			}
			if _, err := (Decoder{MaxPixels: 48}).Decode(bytes.NewReader(data)); err != nil {
				t.Errorf("8x6 at a limit of 48: %v", err)
			}
		})
	}
	webp, err := os.ReadFile(filepath.Join("testdata", "golden", "tiny_lossless.webp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (Decoder{MaxPixels: 47}).Decode(bytes.NewReader(webp)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("webp: error %v, want ErrTooLarge", err)
	}
}

func TestDecodeBadData(t *testing.T) {
	good := encode(t, png.Encode, testImage(16, 16))
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("this is not an image at all")},
		{"truncated png", good[:len(good)/2]},
		{"header only", good[:40]},
		{"zero width", pngHeader(0, 10)},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, err := Decode(bytes.NewReader(c.data))
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v (image %v), want ErrFormat", err, img)
			}
			if !strings.HasPrefix(err.Error(), "imageio: ") {
				t.Errorf("error %q does not start with the package", err)
			}
		})
	}
	if _, err := DecodeFile(filepath.Join(t.TempDir(), "missing.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want os.ErrNotExist", err)
	}
}
