package datasets

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Output is a folder written in full or not at all: everything goes into
// a temporary sibling, ".NAME.partial", which Commit renames to NAME. A
// marker file in the temporary folder names the task that writes it, so
// that a run interrupted half-way is recognised: the same task may resume
// it (when the caller allows), anything else is refused.
type Output struct {
	Final   string // the folder asked for
	Dir     string // the folder to write into until Commit
	Resumed bool   // Dir holds what an interrupted run of the same task wrote
}

// partialMarker is the marker file in an Output's temporary folder.
const partialMarker = ".vision-partial.json"

// OutputOptions configure CreateOutput.
type OutputOptions struct {
	// Inputs are the folders or files the task reads: the output may not
	// be one of them, lie inside one, or contain one.
	Inputs []string
	// Task describes the task and its options (e.g. the command line);
	// a half-written output is resumed only by the same task.
	Task string
	// Resume allows continuing a half-written output of the same task;
	// otherwise any half-written output is refused.
	Resume bool
}

type partialInfo struct {
	Task string `json:"task"`
}

// CreateOutput prepares to write the folder final. It fails, wrapping
// ErrExists, when final exists, when it is or lies inside an input or
// contains one, or when a half-written output is in the way and may not be
// resumed.
func CreateOutput(final string, opt OutputOptions) (*Output, error) {
	abs, err := filepath.Abs(final)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	real := resolve(abs)
	for _, in := range opt.Inputs {
		ia, err := filepath.Abs(in)
		if err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
		ir := resolve(ia)
		if within(real, ir) || within(ir, real) {
			return nil, fmt.Errorf("%w: refusing to write %s: it overlaps the input %s", ErrExists, final, in)
		}
	}
	if _, err := os.Lstat(abs); err == nil {
		return nil, fmt.Errorf("%w: %s exists; remove it or choose another output", ErrExists, final)
	}
	o := &Output{Final: abs, Dir: filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".partial")}
	if _, err := os.Stat(o.Dir); err == nil {
		var info partialInfo
		data, rerr := os.ReadFile(filepath.Join(o.Dir, partialMarker))
		if rerr == nil {
			rerr = json.Unmarshal(data, &info)
		}
		switch {
		case rerr != nil:
			return nil, fmt.Errorf("%w: %s is in the way and is not a half-written output of vision; remove it", ErrExists, o.Dir)
		case opt.Resume && info.Task == opt.Task:
			o.Resumed = true
			return o, nil
		case opt.Resume:
			return nil, fmt.Errorf("%w: %s holds the half-written output of another task (%s); remove it to start again", ErrExists, o.Dir, info.Task)
		default:
			return nil, fmt.Errorf("%w: %s holds the half-written output of an interrupted run (%s); remove it to start again", ErrExists, o.Dir, info.Task)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o777); err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	data, _ := json.Marshal(partialInfo{Task: opt.Task})
	if err := writeFileAtomic(filepath.Join(o.Dir, partialMarker), data); err != nil {
		return nil, err
	}
	return o, nil
}

// Commit removes the marker and renames the temporary folder to the final
// one.
func (o *Output) Commit() error {
	if err := os.Remove(filepath.Join(o.Dir, partialMarker)); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	if _, err := os.Lstat(o.Final); err == nil {
		return fmt.Errorf("%w: %s appeared while it was being written; the output is in %s", ErrExists, o.Final, o.Dir)
	}
	if err := os.Rename(o.Dir, o.Final); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	return nil
}

// Discard removes the temporary folder and everything in it.
func (o *Output) Discard() error {
	return os.RemoveAll(o.Dir)
}

// resolve returns p with its symbolic links resolved as far as it exists.
func resolve(p string) string {
	rest := ""
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// within reports whether p is dir or lies inside it (both absolute, clean).
func within(p, dir string) bool {
	if p == dir {
		return true
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// writeFileAtomic writes data to path through a temporary file and a
// rename.
func writeFileAtomic(path string, data []byte) error {
	return createAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// createAtomic writes path through write, into a temporary file in the same
// folder renamed over path when write succeeds; parent folders are
// created.
func createAtomic(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	return nil
}

// putImage writes im to root/rel (rel slash-separated): a file is copied
// byte for byte, bytes written, pixels encoded by rel's extension. An
// image already at that path (the same file) is left as it is.
func putImage(root, rel string, im Image) error {
	dst := filepath.Join(root, filepath.FromSlash(rel))
	switch {
	case im.Path != "":
		if sameFile(im.Path, dst) {
			return nil
		}
		src, err := os.Open(im.Path)
		if err != nil {
			return fmt.Errorf("datasets: %w", err)
		}
		defer src.Close()
		return createAtomic(dst, func(w io.Writer) error {
			_, err := io.Copy(w, src)
			return err
		})
	case im.Data != nil:
		return writeFileAtomic(dst, im.Data)
	case im.Pixels != nil:
		return createAtomic(dst, func(w io.Writer) error {
			return encodeImage(w, im.Pixels, filepath.Ext(dst))
		})
	}
	return fmt.Errorf("%w: record has no image", ErrFormat)
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// isDir reports whether p is a folder.
func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// isFile reports whether p is a regular file.
func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// notExist reports whether err says a file does not exist.
func notExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
