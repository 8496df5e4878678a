package weights

import (
	"archive/zip"
	"hash/crc32"

	"govision.dev/vision/internal/filemap"
	"govision.dev/vision/tensor"
)

// Map is Load for a model that will run inference: the float32 tensors
// of a PyTorch checkpoint stay in the file, mapped into memory
// copy-on-write, instead of being copied onto the heap. Their pages are
// read from the file as they are touched and handed back once read, and
// the layers that keep their weights in another form (convolutions and
// classifier heads pack them, see nn.Refresh) hand them back again after
// packing, so that the process holds one copy of the weights, not two. The
// values are Load's, bit for bit; checksums are checked as Load checks
// them.
//
// Writing to the tensors is allowed (the written pages become the
// process's own; the file never changes), but the file must not be
// changed in place while they are in use — replacing it through a rename,
// as govision's writers do, is safe — and the mapping stays for the life
// of the process. Other formats, other element types, and systems that
// cannot map files get Load's copies.
func Map(path string) (map[string]*tensor.Tensor, error) {
	return readFile(path, true)
}

// mappedStorage returns the float32 values of the stored zip record at
// offset off (its data), size bytes, checksum sum, as a slice of the
// mapped file, after checking the checksum; false when they cannot be used
// in place (misaligned, or not little-endian values on a little-endian
// machine), and the caller reads a copy.
func mappedStorage(mapped []byte, off int64, size uint64, numel int, sum uint32) ([]float32, bool, error) {
	if off < 0 || uint64(off)+size > uint64(len(mapped)) {
		return nil, false, nil
	}
	values, ok := filemap.Floats(mapped, int(off), numel)
	if !ok {
		return nil, false, nil
	}
	if sum != 0 {
		if got := crc32.ChecksumIEEE(mapped[off : uint64(off)+size]); got != sum {
			return nil, false, zip.ErrChecksum
		}
	}
	// The checksum read every page: give them back until a layer reads
	// them (and the pages are read from the file again).
	filemap.Release(values)
	return values, true, nil
}
