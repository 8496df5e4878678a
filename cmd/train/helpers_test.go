package train

import (
	"errors"
	"testing"
)

// newTestTrainer returns a trainer on the MNIST of the module cache, or
// skips the test when there is none.
func newTestTrainer(tb testing.TB, cfg Config) *Trainer {
	tb.Helper()
	if cfg.Out == "" {
		cfg.Out = tb.TempDir()
	}
	t, err := New(cfg)
	if errors.Is(err, ErrNoData) {
		tb.Skipf("no MNIST: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return t
}
