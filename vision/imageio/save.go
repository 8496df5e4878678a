package imageio

import (
	"bufio"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// JPEGQuality is the quality SaveFile and Encode write JPEGs at.
const JPEGQuality = 95

// Encode writes img to w in the format named by ext: ".png", or ".jpg" or
// ".jpeg" (JPEGQuality), in any letter case. Another ext is an error
// wrapping ErrFormat.
func Encode(w io.Writer, img image.Image, ext string) error {
	enc := encoder(ext)
	if enc == nil {
		return fmt.Errorf("%w: cannot write %q files, only .png, .jpg and .jpeg", ErrFormat, ext)
	}
	return enc(w, img)
}

func encoder(ext string) func(io.Writer, image.Image) error {
	switch strings.ToLower(ext) {
	case ".png":
		return png.Encode
	case ".jpg", ".jpeg":
		return func(w io.Writer, img image.Image) error {
			return jpeg.Encode(w, img, &jpeg.Options{Quality: JPEGQuality})
		}
	}
	return nil
}

// SaveFile writes img to path, in the format its extension names (see
// Encode), atomically: the image is written to a temporary file in the same
// folder, synced, and renamed over path, so that path holds either its old
// content or the whole new image, never part of it. On error the temporary
// file is removed. A new file gets mode 0644; an existing one keeps its
// mode.
func SaveFile(path string, img image.Image) (err error) {
	ext := filepath.Ext(path)
	enc := encoder(ext)
	if enc == nil {
		return fmt.Errorf("%w: %s: cannot write %q files, only .png, .jpg and .jpeg", ErrFormat, path, ext)
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("imageio: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriter(f)
	if err = enc(bw, img); err != nil {
		return fmt.Errorf("imageio: writing %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("imageio: writing %s: %w", path, err)
	}
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("imageio: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("imageio: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("imageio: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("imageio: %w", err)
	}
	return nil
}
