package train

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStep is one training step of LeNet-5 on a batch of 64 MNIST
// digits: forward, loss, backward, Adam.
func BenchmarkStep(b *testing.B) {
	t := newTestTrainer(b, DefaultConfig())
	order := Order(t.Train.Len(), true, 1, 0)
	var batches []*Batch
	for bt := range t.Input.Batches(b.Context(), t.Train, order, 64, 0, 0, 1, 0) {
		batches = append(batches, bt)
		if len(batches) == 20 {
			break
		}
	}
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		if _, _, err := t.Step(batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "img/s")
	// CPU time per step (all threads): steadier than wall time on a
	// shared machine.
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}
