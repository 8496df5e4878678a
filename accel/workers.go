package accel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threads is the number of goroutines a parallel kernel may use; 0 means
// GOMAXPROCS.
var threads atomic.Int64

// SetThreads sets how many goroutines the kernels use (n < 1 means
// GOMAXPROCS, the default). It is safe to call at any time; calls already
// running keep the count they started with.
func SetThreads(n int) {
	if n < 1 {
		n = 0
	}
	threads.Store(int64(n))
}

// Threads reports how many goroutines the kernels use.
func Threads() int {
	if n := int(threads.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// job is one parallelFor call: tasks 0..n-1 handed out by an atomic counter
// to the caller and to whichever pool workers pick the job up. The caller
// waits for the tasks to be done, not for the workers: a worker that takes
// the job late finds no task left and lets go of it.
type job struct {
	fn       func(task int)
	n        int64
	next     atomic.Int64  // the next task to hand out
	done     atomic.Int64  // tasks finished
	finished chan struct{} // closed when done reaches n
}

func (j *job) run() {
	for {
		t := j.next.Add(1) - 1
		if t >= j.n {
			return
		}
		j.fn(int(t))
		if j.done.Add(1) == j.n {
			close(j.finished)
		}
	}
}

// pool is the one worker pool shared by every kernel. Workers are started
// lazily, up to the largest thread count asked for. Jobs are offered on a
// buffered channel, so a worker that is between two jobs still gets the
// next one (an unbuffered send would find it not yet receiving and leave
// the caller to do all the work alone).
var pool struct {
	mu      sync.Mutex
	started int
	jobs    chan *job
}

// maxOffers bounds the job offers waiting for a worker.
const maxOffers = 256

func ensureWorkers(n int) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.jobs == nil {
		pool.jobs = make(chan *job, maxOffers)
	}
	for ; pool.started < n; pool.started++ {
		go func(jobs <-chan *job) {
			for j := range jobs {
				j.run()
			}
		}(pool.jobs)
	}
}

// parallelFor calls fn(task) for every task in [0, n), on up to Threads()
// goroutines including the caller, and returns when all have finished.
// Tasks are handed out dynamically, so fn must not depend on which goroutine
// runs it. A call from inside a task (nested parallelism) never deadlocks:
// the caller runs whatever tasks no idle worker takes.
func parallelFor(n int, fn func(task int)) {
	t := Threads()
	if t > n {
		t = n
	}
	if t <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	ensureWorkers(t - 1)
	j := &job{fn: fn, n: int64(n), finished: make(chan struct{})}
	for w := 1; w < t; w++ {
		select {
		case pool.jobs <- j:
		default:
			w = t // the offers are full: the caller does the work
		}
	}
	j.run()
	<-j.finished
}
