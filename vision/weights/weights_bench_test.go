package weights

import (
	"fmt"
	"os"
	"testing"
)

// BenchmarkLoad loads a 50 MB float32 file of 1 MiB tensors; MB/s is the
// file's size over the load time. The torch case needs Debian's PyTorch to
// write the file and is skipped without it.
func BenchmarkLoad(b *testing.B) {
	const mb = 50
	for _, kind := range []string{"safetensors", "torch"} {
		b.Run(fmt.Sprintf("%s/MB=%d", kind, mb), func(b *testing.B) {
			var path string
			if kind == "safetensors" {
				path = writeSafetensors(b, b.TempDir(), mb<<20)
			} else {
				path = writeTorch(b, b.TempDir(), mb<<20)
			}
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Load(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSave writes 50 MB of float32 tensors as safetensors, synced.
func BenchmarkSave(b *testing.B) {
	const mb = 50
	b.Run(fmt.Sprintf("MB=%d", mb), func(b *testing.B) {
		dir := b.TempDir()
		ts, err := Load(writeSafetensors(b, dir, mb<<20))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(mb << 20)
		for b.Loop() {
			if err := Save(dir+"/out.safetensors", ts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
