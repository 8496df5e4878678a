package detect

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"govision.dev/vision/imageio"
)

// weightsFile returns the path of <name>.weights in the weights folder
// (as the command line looks for it), or "".
func weightsFile(name string) string {
	var dirs []string
	if h := os.Getenv("VISION_HOME"); h != "" {
		dirs = append(dirs, filepath.Join(h, "weights"))
	}
	if c, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(c, "govision", "weights"))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, name+".weights"); fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// BenchmarkDetect times Detect on darknet's sample dog (the 384×288 copy
// of the fixtures) at 416×416: letterbox, network, decoding and NMS. With
// the model's published weights in the weights folder they are used;
// otherwise fresh ones, whose heads fire everywhere, so that NMS costs far
// more than it does with trained weights.
func BenchmarkDetect(b *testing.B) {
	img, err := imageio.DecodeFile(filepath.Join(goldenDir, "dog-384x288.png"))
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"yolov3-tiny", "yolov3"} {
		b.Run("model="+name, func(b *testing.B) {
			d, err := New(name)
			if err != nil {
				b.Fatal(err)
			}
			if p := weightsFile(name); p != "" {
				if err := d.Load(p); err != nil {
					b.Fatal(err)
				}
			} else {
				b.Logf("no %s.weights in the weights folder: fresh weights", name)
			}
			o := Options{ImgSize: 416}
			if _, err := d.Detect(img, o); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := d.Detect(img, o); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

// BenchmarkNMSSort: darknet's do_nms_sort on n candidates of 80 classes,
// each scoring for 3 of them, boxes scattered over a 416×416 image.
func BenchmarkNMSSort(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			base := make([]Candidate, n)
			for i := range base {
				c := Candidate{Objectness: 0.5 + rng.Float32()/2, Prob: make([]float32, 80)}
				c.Box = imageio.Box{X: rng.Float32() * 416, Y: rng.Float32() * 416, W: 20 + rng.Float32()*100, H: 20 + rng.Float32()*100}
				for range 3 {
					c.Prob[rng.IntN(80)] = c.Objectness * rng.Float32()
				}
				base[i] = c
			}
			cs := make([]Candidate, n)
			probs := make([][]float32, n)
			for i := range probs {
				probs[i] = make([]float32, 80)
			}
			b.ResetTimer()
			for range b.N {
				for i, c := range base {
					cs[i] = c
					cs[i].Prob = probs[i]
					copy(cs[i].Prob, c.Prob)
				}
				NMSSort(cs, 0.45)
			}
		})
	}
}
