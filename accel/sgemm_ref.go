package accel

// sgemmRef is Sgemm written as the plain triple loop of its doc comment,
// in float32, summing over p in order. Tests compare every implementation
// with it.
func sgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// gemmGo is the pure-Go micro-kernel: a 4×8 register block, used under
// -tags purego and on machines without AVX2+FMA.
var gemmGo = gemmKernel{name: "go 4x8", mr: 4, nr: 8, tile: tileGo4x8}

func tileGo4x8(k int, a, b, c []float32, ldc int, alpha, beta float32, ep *tileEpilogue) {
	var c0, c1, c2, c3 [8]float32
	a = a[:4*k]
	b = b[:8*k]
	for p := 0; p < k; p++ {
		ap := a[4*p : 4*p+4 : 4*p+4]
		bp := (*[8]float32)(b[8*p : 8*p+8])
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		for j, bv := range bp {
			c0[j] += a0 * bv
			c1[j] += a1 * bv
			c2[j] += a2 * bv
			c3[j] += a3 * bv
		}
	}
	for r, acc := range [4]*[8]float32{&c0, &c1, &c2, &c3} {
		row := c[r*ldc : r*ldc+8]
		for j, s := range acc {
			if beta == 0 {
				row[j] = alpha * s
			} else {
				row[j] = alpha*s + beta*row[j]
			}
		}
	}
	if ep != nil {
		ep.apply(c, ldc, 4, 4, 8)
	}
}
