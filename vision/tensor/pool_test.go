package tensor

import "testing"

func TestClass(t *testing.T) {
	prev := -1
	for n := minClassLen; n < 1<<22; n += n/7 + 1 {
		idx, size := class(n)
		if size < n || float64(size) > 1.25*float64(n)+1 {
			t.Fatalf("class(%d) size %d: want n ≤ size ≤ 1.25n", n, size)
		}
		if idx < prev {
			t.Fatalf("class(%d) = %d, below the previous %d", n, idx, prev)
		}
		prev = idx
		if i2, _ := class(size); i2 != idx {
			t.Fatalf("class(%d) = %d but its buffer size %d maps to %d: Release would misfile it", n, idx, size, i2)
		}
	}
}

func TestGetRelease(t *testing.T) {
	a := Get(4, 1000)
	if a.Len() != 4000 || len(a.Shape()) != 2 {
		t.Fatalf("Get(4, 1000): %v with %d values", a.Shape(), a.Len())
	}
	v, _ := a.Reshape(-1)
	if !v.Shares(a) || !a.Shares(v) {
		t.Fatal("a view does not share its origin")
	}
	v.Release() // a view releases nothing
	if a.Data() == nil {
		t.Fatal("releasing a view released its origin")
	}
	b := Get(4000)
	if b.Shares(a) {
		t.Fatal("two live tensors share a buffer")
	}
	p := &a.Data()[0]
	a.Release()
	c := Get(10, 400)
	if &c.Data()[0] != p {
		t.Log("pool did not hand the buffer back (allowed: sync.Pool may drop it)")
	}
	small := Get(3)
	small.Release()
	New(2).Release()
	var nilT *Tensor
	nilT.Release()
}

func BenchmarkGetRelease(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Get(64, 56, 56).Release()
	}
}
