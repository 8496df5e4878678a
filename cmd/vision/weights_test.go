package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"govision.dev/detect"
)

// weightsServer serves files by name; a name in short is sent with a
// Content-Length larger than its body, as a connection cut off would.
func weightsServer(t *testing.T, files map[string][]byte, short map[string]bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if short[strings.TrimPrefix(r.URL.Path, "/")] {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)+1000))
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fakeRecords makes weightsRecordFor know a few test files.
func fakeRecords(t *testing.T, recs ...weightsRecord) {
	t.Helper()
	old := weightsRecordFor
	t.Cleanup(func() { weightsRecordFor = old })
	weightsRecordFor = func(name string) (weightsRecord, error) {
		for _, r := range recs {
			if r.model == name {
				return r, nil
			}
		}
		return old(name)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// weightsHome points VISION_HOME (and the user cache dir) at new folders
// and returns the weights folder.
func weightsHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("VISION_HOME", home)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	return filepath.Join(home, "weights")
}

// leftovers lists the files in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWeightsFetch(t *testing.T) {
	good := bytes.Repeat([]byte("darknet!"), 50_000)
	files := map[string][]byte{"good.weights": good, "cut.weights": good, "other.weights": []byte("not these")}
	srv := weightsServer(t, files, map[string]bool{"cut.weights": true})
	t.Setenv(weightsURLEnv, srv.URL)
	fakeRecords(t,
		weightsRecord{model: "good", file: "good.weights", url: "https://example.com/x/good.weights", sha256: sha(good)},
		weightsRecord{model: "good-prefix", file: "good.weights", url: "https://example.com/good.weights", sha256: sha(good)[:8]},
		weightsRecord{model: "sized", file: "sized.weights", url: "https://example.com/good.weights", size: int64(len(good))},
		weightsRecord{model: "wrong-sum", file: "w.weights", url: "https://example.com/other.weights", sha256: sha(good)},
		weightsRecord{model: "wrong-size", file: "w.weights", url: "https://example.com/good.weights", size: 123},
		weightsRecord{model: "cut", file: "cut.weights", url: "https://example.com/cut.weights"},
		weightsRecord{model: "gone", file: "gone.weights", url: "https://example.com/gone.weights"},
		weightsRecord{model: "unfit", file: "u.weights", url: "https://example.com/good.weights",
			check: func(string) error { return errors.New("expected 10 floats") }},
	)

	for _, tc := range []struct {
		model string
		want  string // error substring; "" for success
	}{
		{"good", ""},
		{"good-prefix", ""},
		{"sized", ""},
		{"wrong-sum", "SHA-256"},
		{"wrong-size", "the published file has 123"},
		{"cut", "bytes"},
		{"gone", "404"},
		{"unfit", "does not fit the model: expected 10 floats"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			dir := weightsHome(t)
			_, stderr, err := execute(t, "weights", "fetch", tc.model)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				if !strings.Contains(err.Error(), srv.URL) {
					t.Errorf("error %q does not name the URL", err)
				}
				if got := leftovers(t, dir); len(got) != 0 {
					t.Errorf("a failed fetch left %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := weightsRecordFor(tc.model)
			b, err := os.ReadFile(filepath.Join(dir, rec.file))
			if err != nil || !bytes.Equal(b, good) {
				t.Fatalf("fetched file: %d bytes, %v", len(b), err)
			}
			if got := leftovers(t, dir); len(got) != 1 {
				t.Errorf("weights folder holds %v", got)
			}
			if !strings.Contains(stderr, "saved") || !strings.Contains(stderr, sha(good)) {
				t.Errorf("stderr:\n%s", stderr)
			}
			// Fetching again keeps the file, unless --force.
			os.WriteFile(filepath.Join(dir, rec.file), []byte("kept"), 0o644)
			if _, stderr, err := execute(t, "weights", "fetch", tc.model); err != nil || !strings.Contains(stderr, "already") {
				t.Errorf("second fetch: %v, %s", err, stderr)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, rec.file)); string(b) != "kept" {
				t.Error("second fetch replaced the file")
			}
			if _, _, err := execute(t, "weights", "fetch", "--force", tc.model); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, rec.file)); !bytes.Equal(b, good) {
				t.Error("--force did not download again")
			}
		})
	}
}

// TestWeightsFetchDarknet fetches a YOLO model's weights the real way:
// darknet's files have no published checksum, so the download is checked
// by loading it into the network.
func TestWeightsFetchDarknet(t *testing.T) {
	d, err := detect.New("yolov3-tiny")
	if err != nil {
		t.Fatal(err)
	}
	var good bytes.Buffer
	if err := d.Net().WriteWeights(&good); err != nil {
		t.Fatal(err)
	}
	short := good.Bytes()[:good.Len()-4]
	srv := weightsServer(t, map[string][]byte{"yolov3-tiny.weights": good.Bytes()}, nil)
	bad := weightsServer(t, map[string][]byte{"yolov3-tiny.weights": short}, nil)

	dir := weightsHome(t)
	t.Setenv(weightsURLEnv, bad.URL)
	_, _, err = execute(t, "weights", "fetch", "yolov3-tiny")
	if err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Fatalf("a file 4 bytes short: %v", err)
	}
	if got := leftovers(t, dir); len(got) != 0 {
		t.Errorf("a failed fetch left %v", got)
	}

	t.Setenv(weightsURLEnv, srv.URL+"/")
	if _, _, err := execute(t, "weights", "fetch", "yolov3-tiny"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "yolov3-tiny.weights")); err != nil || st.Size() != int64(good.Len()) {
		t.Fatalf("fetched file: %v, %v", st, err)
	}
}

func TestWeightsFetchErrors(t *testing.T) {
	weightsHome(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"weights", "fetch", "yolov3-tin"}, "yolov3-tiny"},
		{[]string{"weights", "fetch", "resnt50"}, "resnet50"},
		{[]string{"weights", "fetch"}, "arg"},
	} {
		_, _, err := execute(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
	// The official yolov3.weights: 248,007,048 bytes, checked before
	// anything is written.
	rec, err := weightsRecordFor("yolov3")
	if err != nil || rec.size != 248_007_048 || rec.url != "https://pjreddie.com/media/files/yolov3.weights" {
		t.Errorf("yolov3's record: %+v, %v", rec, err)
	}
}
