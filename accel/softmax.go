package accel

import (
	"fmt"
	"math"
)

// Row kernels on a rows×cols row-major matrix: row r is src[r*cols:(r+1)*cols].
// They overwrite dst, which may be src itself (the same slice) but must not
// otherwise overlap it, and run on the calling goroutine.

// SoftmaxRows sets each row of dst to the softmax of that row of src,
// subtracting the row's maximum first so that no exponential overflows:
//
//	m := max_j src[r*cols+j]
//	dst[r*cols+j] = exp(src[r*cols+j]-m) / sum_k exp(src[r*cols+k]-m)
//
// as torch.softmax(x, dim=-1). The sum is kept in float64. A row holding
// NaN, or made only of -Inf, gives NaN; a row holding +Inf gives NaN too
// (Inf-Inf). Each output is within about 4e-7 + 6e-8·|x-m| relative error
// of the exact value: exp's error (Exp) plus the rounding of x-m, which
// exp turns into relative error.
//
// It panics if rows or cols is negative or a slice is shorter than
// rows·cols.
func SoftmaxRows(dst, src []float32, rows, cols int) {
	const name = "SoftmaxRows"
	checkRows(name, dst, src, rows, cols)
	for r := 0; r < rows; r++ {
		x := src[r*cols : (r+1)*cols]
		d := dst[r*cols : (r+1)*cols]
		m := rowMax(x)
		for j, v := range x {
			d[j] = v - m
		}
		ew.exp(d, d)
		var sum float64
		for _, v := range d {
			sum += float64(v)
		}
		ew.scale(d, float32(1/sum), d)
	}
}

// LogSoftmaxRows sets each row of dst to the logarithm of the softmax of
// that row of src, as torch.log_softmax(x, dim=-1):
//
//	m := max_j src[r*cols+j]
//	dst[r*cols+j] = src[r*cols+j] - m - log(sum_k exp(src[r*cols+k]-m))
//
// The sum and the final subtraction are in float64, rounded once. NaN and
// infinities behave as in SoftmaxRows. Each output is within about
// 2.5e-7·max(|out|, 1) + 6e-8·|x-m| of the exact value.
//
// It panics if rows or cols is negative or a slice is shorter than
// rows·cols.
func LogSoftmaxRows(dst, src []float32, rows, cols int) {
	const name = "LogSoftmaxRows"
	checkRows(name, dst, src, rows, cols)
	var buf [256]float32
	for r := 0; r < rows; r++ {
		x := src[r*cols : (r+1)*cols]
		d := dst[r*cols : (r+1)*cols]
		m := rowMax(x)
		var sum float64
		for i := 0; i < len(x); i += len(buf) {
			xc := x[i:min(i+len(buf), len(x))]
			e := buf[:len(xc)]
			for j, v := range xc {
				e[j] = v - m
			}
			ew.exp(e, e)
			for _, v := range e {
				sum += float64(v)
			}
		}
		shift := float64(m) + math.Log(sum)
		for j, v := range x {
			d[j] = float32(float64(v) - shift)
		}
	}
}

// ArgmaxRows sets dst[r] to the column of the largest value of row r: the
// first one when several are equal, and the first NaN if the row holds
// NaN, as torch.argmax(x, dim=-1).
//
// It panics if rows or cols is negative, if cols is 0 while rows is not (an
// empty row has no maximum), or if src is shorter than rows·cols or dst
// than rows.
func ArgmaxRows(dst []int, src []float32, rows, cols int) {
	const name = "ArgmaxRows"
	if rows < 0 || cols < 0 || (rows > 0 && cols == 0) {
		panic(fmt.Sprintf("accel: %s: bad shape rows=%d cols=%d (need cols ≥ 1)", name, rows, cols))
	}
	checkLen(name, "src", src, rows*cols, fmt.Sprintf("rows=%d cols=%d", rows, cols))
	checkLen(name, "dst", dst, rows, fmt.Sprintf("rows=%d", rows))
	for r := 0; r < rows; r++ {
		x := src[r*cols : (r+1)*cols]
		best, at := x[0], 0
		if best == best {
			for j, v := range x[1:] {
				if v > best {
					best, at = v, j+1
				} else if v != v {
					at = j + 1
					break
				}
			}
		}
		dst[r] = at
	}
}

// rowMax is the largest value of x, NaN if x holds NaN, -Inf if x is
// empty.
func rowMax(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

func checkRows(kernel string, dst, src []float32, rows, cols int) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("accel: %s: bad shape rows=%d cols=%d", kernel, rows, cols))
	}
	shape := fmt.Sprintf("rows=%d cols=%d", rows, cols)
	checkLen(kernel, "src", src, rows*cols, shape)
	checkLen(kernel, "dst", dst, rows*cols, shape)
	checkAlias(kernel, "dst", dst[:rows*cols], "src", src[:rows*cols])
}
