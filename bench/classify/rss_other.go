//go:build !linux

package main

import (
	"errors"
	"os"
)

// peakRSS needs Linux's wait4 rusage, in KiB.
func peakRSS(*os.ProcessState) (int64, error) {
	return 0, errors.New("classify: -rss reads the peak RSS from Linux's wait4 rusage; this is not Linux")
}
