package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// gcPercent is the garbage collector's goal (GOGC) vision runs with unless
// GOGC is set: collect when garbage reaches half the live heap.
const gcPercent = 50

func main() {
	// The first interrupt cancels the command's context, so that it can stop
	// cleanly and a running profile is still written; stop() then restores
	// the default handling, so a second interrupt kills the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	if os.Getenv("GOGC") == "" {
		// vision holds a model's weights for its whole run: a large heap,
		// but without pointers, so cheap to collect. The default goal of
		// twice the live heap let a resnet50 classification of a folder
		// of images peak at 2.8× its weight file (as garbage from one
		// image after another waited for the next collection); at 50%
		// over the live heap it peaks at 2.2×, in the same time
		// (go run ./bench/classify -rss). GOGC, if set, wins.
		debug.SetGCPercent(gcPercent)
	}
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "vision: %v\n", err)
		os.Exit(1)
	}
}
