//go:build unix

package filemap

import (
	"fmt"
	"os"
	"syscall"
)

var pageSize = os.Getpagesize()

// Map maps size bytes of f, private and writable (copy-on-write). It
// fails for an empty file or where mapping files is not supported.
func Map(f *os.File, size int64) ([]byte, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("filemap: cannot map %d bytes", size)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("filemap: mmap %s: %w", f.Name(), err)
	}
	register(b)
	return b, nil
}
