package detect

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"govision.dev/vision/imageio"
)

// BenchmarkFaceDetect: a whole Detect (preprocessing, network, decode,
// NMS) of each face detector on a 384×288 photo, at its default input
// size, at 1 and 2 threads (GOMAXPROCS, which accel's kernels follow); ms/img is the figure BENCHMARKS.md compares
// with face-api's.
func BenchmarkFaceDetect(b *testing.B) {
	img, err := imageio.DecodeFile(filepath.Join(goldenDir, "dog-384x288.png"))
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range FaceNames() {
		d, err := PretrainedFace(name)
		if err != nil {
			b.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("model=%s/threads=%d", name, threads), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads)) // accel sizes its pool by it
				if _, err := d.Detect(img, Options{}); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					if _, err := d.Detect(img, Options{}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/img")
			})
		}
	}
}

// BenchmarkFaceInput times face-api's preprocessing alone (faceInput: pad
// to a square and resize to 416) on darknet's person.jpg, 640×424, as
// bench/faces's photos need it; skipped without Debian's darknet.
func BenchmarkFaceInput(b *testing.B) {
	img, err := imageio.DecodeFile(faceAPIPhotos["person.png"])
	if err != nil {
		b.Skipf("darknet's person.jpg: %v", err)
	}
	for b.Loop() {
		faceInput(img, 416).Release()
	}
}
