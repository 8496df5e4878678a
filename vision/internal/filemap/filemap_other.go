//go:build !unix

package filemap

import (
	"errors"
	"os"
)

var pageSize = 4096

// Map is not supported here: callers read the file instead.
func Map(f *os.File, size int64) ([]byte, error) {
	return nil, errors.New("filemap: mapping files is not supported on this system")
}
