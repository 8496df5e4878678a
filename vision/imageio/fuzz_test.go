package imageio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzMaxPixels keeps each fuzz input's decode small: 256×256.
const fuzzMaxPixels = 1 << 16

// FuzzDecode feeds arbitrary bytes to the decoder: it must return an image
// within the pixel limit or an error of one of the package's categories,
// never panic, and never allocate beyond what the limit implies.
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 30s ./imageio
func FuzzDecode(f *testing.F) {
	src := testImage(12, 8)
	for _, e := range encoders {
		f.Add(encode(f, e.encode, src))
	}
	f.Add(jpegWithOrientation(f, src, 6))
	f.Add(pngHeader(60000, 60000))
	for _, name := range []string{"tiny_lossless.webp", "tiny_lossy.webp", "tiny_alpha.webp", "letterbox_gray.png", "letterbox_rgba.png"} {
		data, err := os.ReadFile(filepath.Join("testdata", "golden", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	d := Decoder{MaxPixels: fuzzMaxPixels}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := d.Decode(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is neither ErrFormat nor ErrTooLarge", err)
			}
			return
		}
		b := img.Bounds()
		if b.Dx()*b.Dy() > fuzzMaxPixels || b.Empty() {
			t.Fatalf("decoded bounds %v with a limit of %d pixels", b, fuzzMaxPixels)
		}
		// The decoded image must be usable downstream.
		ToTensor(img, ImageNetMean, ImageNetStd)
		Letterbox(img, 16, 12)
	})
}
