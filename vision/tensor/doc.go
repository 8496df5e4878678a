// Package tensor holds govision's n-dimensional array: float32 values,
// contiguous and row-major, with images laid out NCHW (batch, channel, row,
// column). The data is a plain []float32 a caller may read and write.
package tensor
