package detect

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// TestAssets checks the embedded darknet files against Debian's darknet
// package, where it is installed: each is the file cfg/SOURCES names,
// byte for byte (yolo9000.cfg but for its two rewritten paths), as
// tools/golden/detect_assets.sh copies them.
func TestAssets(t *testing.T) {
	b, err := os.ReadFile("cfg/SOURCES")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("cfg/SOURCES: %q", line)
		}
		ours, src, sum := strings.TrimPrefix(f[0], "detect/"), f[1], f[2]
		n++
		t.Run(ours, func(t *testing.T) {
			got, err := os.ReadFile(ours)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(src)
			if errors.Is(err, fs.ErrNotExist) {
				t.Skipf("%s: Debian's darknet is not installed", src)
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := sha256.Sum256(want); hex.EncodeToString(s[:]) != sum {
				t.Errorf("%s has changed since it was copied: run tools/golden/detect_assets.sh", src)
			}
			if strings.HasSuffix(ours, "yolo9000.cfg") {
				want = bytes.Replace(want, []byte("tree=/usr/share/darknet/data/9k.tree"), []byte("tree=9k.tree"), 1)
				want = bytes.Replace(want, []byte("map = /usr/share/darknet/data/coco9k.map"), []byte("map = coco9k.map"), 1)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s: run tools/golden/detect_assets.sh", ours, src)
			}
		})
	}
	if n != 14 {
		t.Errorf("cfg/SOURCES lists %d files, want 14 (9 cfgs, 9k.tree, coco9k.map, 3 label sets)", n)
	}
}
