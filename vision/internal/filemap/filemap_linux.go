package filemap

import "syscall"

// madvPageout is Linux's MADV_PAGEOUT (5.4 and later): reclaim the pages
// now. Unlike MADV_DONTNEED it never discards data: a clean file page is
// dropped (and read back on the next touch), a written one is swapped out
// or, without swap, kept.
const madvPageout = 21

func pageOut(b []byte) {
	_ = syscall.Madvise(b, madvPageout) // an older kernel says EINVAL: the pages stay, nothing else changes
}
