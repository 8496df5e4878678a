package train

import (
	"bytes"
	"fmt"

	"govision.dev/vision/checkpoint"
)

// WriteMetrics writes the epochs as CSV (a header, then one row per
// epoch) to path, atomically.
func WriteMetrics(path string, epochs []Epoch) error {
	var b bytes.Buffer
	b.WriteString("epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds,images_per_s\n")
	for _, e := range epochs {
		fmt.Fprintf(&b, "%d,%.6g,%.6f,%.4f,%.6f,%.4f,%.3f,%.1f\n",
			e.Epoch, e.LR, e.TrainLoss, e.TrainAcc, e.TestLoss, e.TestAcc, e.Seconds, e.ImagesPerSec)
	}
	return checkpoint.WriteFile(path, b.Bytes())
}
