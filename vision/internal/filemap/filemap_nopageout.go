//go:build !linux

package filemap

// pageOut does nothing where no advice is known to drop clean pages
// without discarding written ones.
func pageOut(b []byte) {}
