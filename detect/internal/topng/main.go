// Command topng writes images as PNG, decoded as govision decodes them
// (imageio.DecodeFile: Go's decoders, EXIF orientation applied), so that a
// reference run elsewhere (tools/golden/faceapi.sh: face-api under Node,
// reading PNGs with pngjs) sees exactly the pixels the Go tests see.
//
//	go run ./internal/topng OUTDIR IMAGE...
//
// Each IMAGE becomes OUTDIR/<base name without extension>.png.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"govision.dev/vision/imageio"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: topng OUTDIR IMAGE...")
		os.Exit(2)
	}
	for _, src := range os.Args[2:] {
		img, err := imageio.DecodeFile(src)
		if err == nil {
			base := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))
			err = imageio.SaveFile(filepath.Join(os.Args[1], base+".png"), img)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "topng:", err)
			os.Exit(1)
		}
	}
}
