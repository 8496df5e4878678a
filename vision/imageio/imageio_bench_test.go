package imageio

import (
	"bytes"
	"image/jpeg"
	"testing"
)

func BenchmarkLetterbox(b *testing.B) {
	img := testImage(768, 576)
	b.Run("768x576to416x416", func(b *testing.B) {
		for b.Loop() {
			Letterbox(img, 416, 416)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
	})
}

func BenchmarkClassifyPreprocess(b *testing.B) {
	img := testImage(500, 375)
	b.Run("500x375", func(b *testing.B) {
		for b.Loop() {
			if _, err := ClassifyPreprocess(img); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
	})
}

func BenchmarkDecodeJPEG(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(768, 576), nil); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.Run("768x576", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
	})
}
