package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// shardRecords are records with everything a record can hold.
func shardRecords(t *testing.T, n int) []*Record {
	t.Helper()
	var recs []*Record
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 6, 4))
		for k := range img.Pix {
			img.Pix[k] = uint8(i*31 + k)
		}
		rle, err := EncodeRLE([]uint8{0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 6, 4)
		if err != nil {
			t.Fatal(err)
		}
		rec := &Record{ID: fmt.Sprint("r", i), Name: fmt.Sprintf("r%d.png", i), Split: []string{"train", "val"}[i%2],
			Width: 6, Height: 4, Class: i % 3, Image: Image{Pixels: img},
			Objects: []Object{
				{Class: 1, Box: Box{0.5, 1, 3, 4}, Difficult: true, Pose: "Left", ID: int64(100 + i), Area: 7.5,
					Mask: &Mask{Polygons: [][]float64{{0.5, 1, 3, 1, 3, 4}}}},
				{Class: 2, Box: Box{1, 0, 3, 2}, Crowd: true, Mask: &Mask{RLE: rle}},
			},
			Segmentation: &ClassMap{W: 6, H: 4, Pix: bytes.Repeat([]byte{byte(i)}, 24)},
		}
		recs = append(recs, rec)
	}
	return recs
}

// sameRecord compares what a shard keeps: everything but Source, Where
// and the form of the image (pixels come back as PNG bytes).
func sameRecord(t *testing.T, got, want *Record) {
	t.Helper()
	g, w := *got, *want
	g.Source, w.Source = "", ""
	gi, err := g.Image.Decode(defaultDecoder)
	if err != nil {
		t.Fatal(err)
	}
	wi, _ := w.Image.Decode(defaultDecoder)
	if gi.Bounds() != wi.Bounds() || !reflect.DeepEqual(toGray(gi), toGray(wi)) {
		t.Errorf("record %s: image differs", w.ID)
	}
	g.Image, w.Image = Image{}, Image{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("record differs:\n got %+v\nwant %+v", g, w)
	}
}

func toGray(img image.Image) []uint8 {
	b := img.Bounds()
	out := make([]uint8, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, _, _, _ := img.At(x, y).RGBA()
			out = append(out, uint8(r>>8))
		}
	}
	return out
}

func writeShards(t *testing.T, dir string, recs []*Record, size int64) *ShardWriter {
	t.Helper()
	w, err := NewShardWriter(dir, []Class{{Name: "a"}, {Name: "b", ID: 5}, {Name: "c"}}, ShardOptions{Size: size, Format: VOCFormat})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestShardRoundTrip(t *testing.T) {
	dir := t.TempDir()
	recs := shardRecords(t, 9)
	w := writeShards(t, dir, recs, 1500)
	if w.Shards() < 3 {
		t.Fatalf("%d shards, want several", w.Shards())
	}
	s, err := OpenShards(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != len(recs) || s.Format() != VOCFormat || s.Classes()[1].ID != 5 {
		t.Fatalf("Len %d, format %s, classes %v", s.Len(), s.Format(), s.Classes())
	}
	got, bad := nextAll(t, s)
	if len(bad) > 0 || len(got) != len(recs) {
		t.Fatalf("%d records, bad %v", len(got), bad)
	}
	for i := range recs {
		sameRecord(t, got[i], recs[i])
	}
	for _, i := range []int{8, 0, 4, 3} {
		rec, err := s.Record(i)
		if err != nil {
			t.Fatal(err)
		}
		sameRecord(t, rec, recs[i])
	}
	if _, err := s.Record(9); err == nil {
		t.Error("Record(9) of 9 succeeded")
	}
	val, err := OpenShards(dir, "val")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := nextAll(t, val); len(got) != 4 {
		t.Errorf("split val: %d records, want 4", len(got))
	}
}

func TestShardCorruption(t *testing.T) {
	dir := t.TempDir()
	recs := shardRecords(t, 3)
	writeShards(t, dir, recs, 1<<30)
	path := filepath.Join(dir, "shard-00000.gvrec")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenShards(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	second := s.files[0].index[1]
	s.Close()

	t.Run("flipped byte", func(t *testing.T) {
		bad := bytes.Clone(data)
		bad[second+20] ^= 0x40
		os.WriteFile(path, bad, 0o644)
		s, err := OpenShards(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got, errs := nextAll(t, s)
		if len(got) != 2 || len(errs) != 1 {
			t.Fatalf("%d records, errors %v; want 2 and the CRC failure", len(got), errs)
		}
		want := fmt.Sprintf("%s: record 1 at offset %d: shard: payload fails its CRC", path, second)
		if errs[0] != want {
			t.Errorf("error %q, want %q", errs[0], want)
		}
		if _, err := s.Record(1); err == nil || !errors.Is(err, ErrFormat) {
			t.Errorf("Record(1) = %v, want the CRC failure", err)
		}
	})
	t.Run("cut short", func(t *testing.T) {
		os.WriteFile(path, data[:second+30], 0o644)
		if _, err := OpenShards(dir, ""); !errors.Is(err, ErrFormat) {
			t.Errorf("OpenShards = %v, want ErrFormat", err)
		}
		st, err := NewShardStream(bytes.NewReader(data[:second+30]), "x")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Next(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Next(); !errors.Is(err, ErrFormat) {
			t.Errorf("reading into the cut: %v", err)
		}
	})
	t.Run("huge length on a small file", func(t *testing.T) {
		bad := bytes.Clone(data[:second+8])
		binary.LittleEndian.PutUint32(bad[second:], maxShardRecord-1)
		st, err := NewShardStream(bytes.NewReader(bad), "x")
		if err != nil {
			t.Fatal(err)
		}
		st.Next()
		if _, err := st.Next(); !errors.Is(err, ErrFormat) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("huge record: %v", err)
		}
	})
}
