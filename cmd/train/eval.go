package train

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"govision.dev/vision/nn"
	"govision.dev/vision/tensor"
)

// Evaluation is a model's score on a test set.
type Evaluation struct {
	N        int
	Loss     float64   // mean cross-entropy of the logits
	Accuracy float64   // percent
	PerClass []float64 // percent right of each class's digits
	// Confusion[t][p] counts the digits of class t predicted as p.
	Confusion [][]int
}

// Evaluate runs m's inference Forward (the model as `vision classify`
// runs it) over data in batches, on GOMAXPROCS goroutines at once (the
// Forward is safe for concurrent use), and scores the logits; the loss is
// the cross-entropy of logits/temperature (0: 1), as training computes it.
func Evaluate(ctx context.Context, m nn.Module, data *MNIST, in *Input, batch int, temperature float64) (*Evaluation, error) {
	if temperature == 0 {
		temperature = 1
	}
	const classes = 10
	nb := (data.Len() + batch - 1) / batch
	type part struct {
		loss      float64
		confusion [classes][classes]int
		err       error
	}
	workers := min(runtime.GOMAXPROCS(0), nb)
	parts := make([]part, workers)
	var next sync.Mutex
	b := 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			p := &parts[w]
			for {
				next.Lock()
				i := b
				b++
				next.Unlock()
				if i >= nb || ctx.Err() != nil {
					return
				}
				lo, hi := i*batch, min((i+1)*batch, data.Len())
				idx := make([]int, hi-lo)
				for k := range idx {
					idx[k] = lo + k
				}
				x := tensor.New(len(idx), 1, in.Size, in.Size)
				in.Fill(x.Data(), data, idx)
				y, err := m.Forward(x)
				if err != nil {
					p.err = err
					return
				}
				if y.Dims() != 2 || y.Dim(1) != classes {
					p.err = fmt.Errorf("train: evaluate: logits %v, want [N, %d]", y.Shape(), classes)
					return
				}
				for k, i := range idx {
					row := y.Data()[k*classes : (k+1)*classes]
					best, mx := 0, math.Inf(-1)
					for c, v := range row {
						mx = math.Max(mx, float64(v)/temperature)
						if v > row[best] {
							best = c
						}
					}
					var s float64
					for _, v := range row {
						s += math.Exp(float64(v)/temperature - mx)
					}
					t := int(data.Labels[i])
					p.loss += mx + math.Log(s) - float64(row[t])/temperature
					p.confusion[t][best]++
				}
				y.Release()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ev := &Evaluation{N: data.Len(), Confusion: make([][]int, classes), PerClass: make([]float64, classes)}
	for t := range ev.Confusion {
		ev.Confusion[t] = make([]int, classes)
	}
	var loss float64
	for _, p := range parts {
		if p.err != nil {
			return nil, p.err
		}
		loss += p.loss
		for t := range classes {
			for q := range classes {
				ev.Confusion[t][q] += p.confusion[t][q]
			}
		}
	}
	right := 0
	for t, row := range ev.Confusion {
		n := 0
		for _, v := range row {
			n += v
		}
		right += row[t]
		if n > 0 {
			ev.PerClass[t] = 100 * float64(row[t]) / float64(n)
		}
	}
	ev.Loss = loss / float64(ev.N)
	ev.Accuracy = 100 * float64(right) / float64(ev.N)
	return ev, nil
}
