package datasets

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkTranscode resizes a folder of 640×480 JPEGs to fit 416×416 (the
// work of `vision dataset resize`), reporting images per second; run with
// -cpu 1,2 for the thread counts.
func BenchmarkTranscode(b *testing.B) {
	const n = 16
	src := b.TempDir()
	im := synthImage{id: "x", w: 640, h: 480, objects: []synthObject{{class: 1, x1: 100, y1: 80, x2: 400, y2: 300}}}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, im.draw(1), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("%02d.jpg", i)), buf.Bytes(), 0o644)
	}
	for _, tc := range []struct {
		name string
		t    Transform
	}{{"fit=416", Resize{Width: 416, Height: 416, Fit: true}}, {"letterbox=416", Letterbox{Width: 416, Height: 416}}} {
		b.Run(tc.name, func(b *testing.B) {
			for k := 0; b.Loop(); k++ {
				r, _ := OpenImages(src)
				dst := filepath.Join(b.TempDir(), fmt.Sprint(k))
				os.MkdirAll(dst, 0o777)
				w, _ := Create(dst, ImagesFormat, nil)
				rep, err := Transcode(context.Background(), r, w, tc.t, TranscodeOptions{Dir: dst})
				if err != nil || rep.Records != n {
					b.Fatalf("%v, %d records", err, rep.Records)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
