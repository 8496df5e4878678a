package accel

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallelFor checks that every task runs exactly once, for any task
// count and thread count, back to back (the case where a worker is still
// between two jobs when the next is offered).
func TestParallelFor(t *testing.T) {
	defer SetThreads(0)
	for _, threads := range []int{1, 2, 3, 8} {
		SetThreads(threads)
		for n := 0; n < 70; n++ {
			counts := make([]atomic.Int32, n)
			parallelFor(n, func(task int) { counts[task].Add(1) })
			for i := range counts {
				if c := counts[i].Load(); c != 1 {
					t.Fatalf("threads %d, n %d: task %d ran %d times", threads, n, i, c)
				}
			}
		}
	}
}

// TestParallelForNested runs parallel loops inside parallel loops and from
// many goroutines at once: none may deadlock or lose a task.
func TestParallelForNested(t *testing.T) {
	defer SetThreads(0)
	SetThreads(3)
	var total atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parallelFor(5, func(int) {
				parallelFor(7, func(int) {
					parallelFor(3, func(int) { total.Add(1) })
				})
			})
		}()
	}
	wg.Wait()
	if got, want := total.Load(), int64(8*5*7*3); got != want {
		t.Fatalf("%d innermost tasks ran, want %d", got, want)
	}
}
