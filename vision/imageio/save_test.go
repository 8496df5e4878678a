package imageio

import (
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

func TestSaveFile(t *testing.T) {
	dir := t.TempDir()
	src := testImage(32, 16)
	for _, name := range []string{"out.png", "out.PNG", "out.jpg", "out.jpeg"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := SaveFile(path, src); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tol := 0
			if filepath.Ext(name) != ".png" && filepath.Ext(name) != ".PNG" {
				tol = 24
			}
			if got.Bounds() != src.Bounds() || !near(got.At(8, 4), src.At(8, 4), tol) || !near(got.At(24, 12), src.At(24, 12), tol) {
				t.Errorf("read back %v: %v, %v", got.Bounds(), got.At(8, 4), got.At(24, 12))
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, %v", fi.Mode(), err)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("%d files in the folder, want 4 (a temporary file left?)", len(entries))
	}
}

func TestSaveFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.png")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 3, 3))
	img.SetGray(1, 1, color.Gray{200})
	if err := SaveFile(path, img); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := color.GrayModel.Convert(got.At(1, 1)).(color.Gray); c.Y != 200 {
		t.Errorf("pixel %v", c)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the old file's 0600", fi.Mode())
	}
}

func TestSaveFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		path string
		img  image.Image
		fmt  bool // wraps ErrFormat
	}{
		{"unknown extension", filepath.Join(dir, "out.gif"), testImage(4, 4), true},
		{"no extension", filepath.Join(dir, "out"), testImage(4, 4), true},
		{"missing folder", filepath.Join(dir, "nope", "out.png"), testImage(4, 4), false},
		{"encoder fails", filepath.Join(dir, "empty.png"), image.NewRGBA(image.Rect(0, 0, 0, 0)), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := SaveFile(c.path, c.img)
			if err == nil {
				t.Fatal("no error")
			}
			if c.fmt != errors.Is(err, ErrFormat) {
				t.Errorf("error %v: ErrFormat %v, want %v", err, !c.fmt, c.fmt)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
}
