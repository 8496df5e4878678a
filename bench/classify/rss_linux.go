package main

import (
	"errors"
	"os"
	"syscall"
)

// peakRSS is a finished process's peak resident set size in bytes: the
// ru_maxrss of the rusage wait4 returned, which Linux gives in KiB.
func peakRSS(ps *os.ProcessState) (int64, error) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, errors.New("classify: no rusage for the finished process")
	}
	return ru.Maxrss << 10, nil
}
