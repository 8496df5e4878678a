package optim_test

import (
	"fmt"

	"govision.dev/vision/optim"
)

// A cosine schedule after a linear warm-up, as torch's SequentialLR of
// LinearLR and CosineAnnealingLR.
func ExampleWarmup() {
	s := optim.Warmup{Steps: 2, StartFactor: 0.1, Then: optim.Cosine{T: 4}}
	for t := range 7 {
		fmt.Printf("%.4f ", s.LR(0.1, t))
	}
	fmt.Println()
	// Output: 0.0100 0.0550 0.1000 0.0854 0.0500 0.0146 0.0000
}
