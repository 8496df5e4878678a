package datasets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateOutput(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in")
	os.MkdirAll(filepath.Join(in, "sub"), 0o777)
	os.Symlink(in, filepath.Join(tmp, "link"))
	for _, tc := range []struct {
		name, dst string
		want      string
	}{
		{"the input itself", in, "overlaps the input"},
		{"inside the input", filepath.Join(in, "out"), "overlaps the input"},
		{"inside through a link", filepath.Join(tmp, "link", "out"), "overlaps the input"},
		{"around the input", tmp, "overlaps the input"},
		{"an existing folder", filepath.Join(in, "..", "in", "sub", ".."), "overlaps the input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CreateOutput(tc.dst, OutputOptions{Inputs: []string{in}, Task: "t"})
			if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CreateOutput(%s) = %v, want ErrExists: %s", tc.dst, err, tc.want)
			}
		})
	}
	other := filepath.Join(tmp, "other")
	os.Mkdir(other, 0o777)
	if _, err := CreateOutput(other, OutputOptions{Inputs: []string{in}}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "exists") {
		t.Errorf("existing output: %v", err)
	}

	dst := filepath.Join(tmp, "out")
	o, err := CreateOutput(dst, OutputOptions{Inputs: []string{in}, Task: "resize a 416", Resume: true})
	if err != nil || o.Resumed {
		t.Fatalf("CreateOutput = %+v, %v", o, err)
	}
	os.WriteFile(filepath.Join(o.Dir, "half"), []byte("x"), 0o644)
	// An interrupted run: the same task resumes, another is refused, and
	// without Resume everything is.
	if o2, err := CreateOutput(dst, OutputOptions{Task: "resize a 416", Resume: true}); err != nil || !o2.Resumed || o2.Dir != o.Dir {
		t.Errorf("resume: %+v, %v", o2, err)
	}
	if _, err := CreateOutput(dst, OutputOptions{Task: "resize a 320", Resume: true}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "another task") {
		t.Errorf("another task: %v", err)
	}
	if _, err := CreateOutput(dst, OutputOptions{Task: "resize a 416"}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "interrupted run") {
		t.Errorf("no resume: %v", err)
	}
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "half")); err != nil {
		t.Errorf("after Commit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, partialMarker)); !os.IsNotExist(err) {
		t.Errorf("the marker survived Commit: %v", err)
	}
	if _, err := os.Stat(o.Dir); !os.IsNotExist(err) {
		t.Errorf("the temporary folder survived Commit: %v", err)
	}
	// A stray folder where the temporary one would go is not ours.
	os.Mkdir(filepath.Join(tmp, ".stray.partial"), 0o777)
	if _, err := CreateOutput(filepath.Join(tmp, "stray"), OutputOptions{Resume: true}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "not a half-written output") {
		t.Errorf("stray: %v", err)
	}
}
