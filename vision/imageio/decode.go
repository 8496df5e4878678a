package imageio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers GIF with image.Decode
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Error categories, for errors.Is. Every error this package returns about
// image data wraps one of them.
var (
	// ErrFormat: the data is not an image in a supported format (JPEG,
	// PNG, GIF, BMP, TIFF, WebP), or it is truncated or malformed.
	ErrFormat = errors.New("imageio: unsupported or malformed image")
	// ErrTooLarge: the image's header claims more pixels than the
	// decoder's limit allows; nothing was decoded.
	ErrTooLarge = errors.New("imageio: image too large")
)

// DefaultMaxPixels is the pixel limit of a Decoder whose MaxPixels is zero:
// 100 megapixels, e.g. 12000×8000. Decoding that many pixels takes at most
// 800 MB (16-bit RGBA); a larger claim is refused before any pixel is read.
const DefaultMaxPixels = 100_000_000

// Decoder decodes JPEG, PNG, GIF (the first frame), BMP, TIFF and WebP
// images, applies the EXIF orientation of JPEGs, and refuses decompression
// bombs: the header's width × height is checked against MaxPixels before
// any pixel data is decoded.
//
// The zero value is ready to use. A Decoder is safe for concurrent use.
type Decoder struct {
	// MaxPixels is the largest width × height accepted; zero or negative
	// means DefaultMaxPixels.
	MaxPixels int
	// KeepOrientation, if set, returns the pixels as stored, ignoring the
	// EXIF orientation tag.
	KeepOrientation bool
}

// Decode reads one image from r with the default Decoder.
func Decode(r io.Reader) (image.Image, error) { return Decoder{}.Decode(r) }

// DecodeFile reads the image file at path with the default Decoder.
func DecodeFile(path string) (image.Image, error) { return Decoder{}.DecodeFile(path) }

// Decode reads one image from r. If r is an io.ReadSeeker positioned at the
// start of the image, the header is read and then r seeked back; otherwise
// the header bytes are kept in memory and replayed to the decoder. The
// image's bounds are those of the upright picture: for EXIF orientations
// 5–8 width and height are swapped relative to the stored pixels.
func (d Decoder) Decode(r io.Reader) (image.Image, error) {
	return d.decode(r, "")
}

// DecodeFile reads the image file at path; errors name the path.
func (d Decoder) DecodeFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imageio: %w", err)
	}
	defer f.Close()
	return d.decode(f, path)
}

func (d Decoder) limit() int64 {
	if d.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return int64(d.MaxPixels)
}

// decode checks the header of r, then decodes it; name (a path, or empty)
// prefixes error messages.
func (d Decoder) decode(r io.Reader, name string) (image.Image, error) {
	where := ""
	if name != "" {
		where = name + ": "
	}
	body, err := d.check(r, where)
	if err != nil {
		return nil, err
	}
	var img image.Image
	if d.KeepOrientation {
		img, _, err = image.Decode(body)
	} else {
		img, err = imaging.Decode(body, imaging.AutoOrientation(true))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s%w", ErrFormat, where, err)
	}
	return img, nil
}

// check reads the header of r with image.DecodeConfig, refuses it if it is
// not an image or claims more than d's pixel limit, and returns a reader
// positioned at the start of the image again.
func (d Decoder) check(r io.Reader, where string) (io.Reader, error) {
	var (
		cfg    image.Config
		format string
		err    error
		body   io.Reader
	)
	if s, ok := r.(io.ReadSeeker); ok {
		start, serr := s.Seek(0, io.SeekCurrent)
		if serr == nil {
			cfg, format, err = image.DecodeConfig(bufio.NewReader(s))
			if err == nil {
				_, err = s.Seek(start, io.SeekStart)
			}
			body = s
		}
	}
	if body == nil {
		// Not seekable: keep the bytes the header reader consumed and play
		// them back before the rest of r.
		var head bytes.Buffer
		cfg, format, err = image.DecodeConfig(io.TeeReader(r, &head))
		body = io.MultiReader(&head, r)
	}
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, fmt.Errorf("%w: %snot a JPEG, PNG, GIF, BMP, TIFF or WebP image", ErrFormat, where)
		}
		return nil, fmt.Errorf("%w: %sreading header: %w", ErrFormat, where, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s%s header claims %dx%d pixels", ErrFormat, where, format, cfg.Width, cfg.Height)
	}
	if n := int64(cfg.Width) * int64(cfg.Height); n > d.limit() {
		return nil, fmt.Errorf("%w: %s%s header claims %dx%d = %d pixels, over the limit of %d",
			ErrTooLarge, where, format, cfg.Width, cfg.Height, n, d.limit())
	}
	return body, nil
}
