package datasets

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// The expected values below are pycocotools' own documented examples
// (PythonAPI/pycocotools/mask.py: "given M=[0 0 1 1 1 0 1] the RLE counts
// would be [2 3 1 1], or for M=[1 1 1 1 1 1 0] the counts would be
// [0 6 1]") and consequences of maskApi.c's definitions worked by hand,
// each explained at its case.

func TestEncodeRLEDocExamples(t *testing.T) {
	for _, tc := range []struct {
		m    []uint8
		want []uint32
	}{
		{[]uint8{0, 0, 1, 1, 1, 0, 1}, []uint32{2, 3, 1, 1}},
		{[]uint8{1, 1, 1, 1, 1, 1, 0}, []uint32{0, 6, 1}},
	} {
		// One column of 7 rows: column-major order is the list itself.
		r, err := EncodeRLE(tc.m, 1, len(tc.m))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Counts, tc.want) {
			t.Errorf("EncodeRLE(%v) = %v, want %v", tc.m, r.Counts, tc.want)
		}
		back, err := r.Decode()
		if err != nil || !slices.Equal(back, tc.m) {
			t.Errorf("Decode(%v) = %v, %v; want %v", r.Counts, back, err, tc.m)
		}
	}
}

func TestRLEColumnMajor(t *testing.T) {
	// A 3×2 image (w=3, h=2) with pixel (x=1, y=0) and (x=1, y=1) set:
	// column-major order reads column 0 (2 zeros), column 1 (2 ones),
	// column 2 (2 zeros).
	bm := []uint8{
		0, 1, 0,
		0, 1, 0,
	}
	r, err := EncodeRLE(bm, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{2, 2, 2}; !slices.Equal(r.Counts, want) {
		t.Errorf("counts %v, want %v", r.Counts, want)
	}
	if r.Area() != 2 {
		t.Errorf("area %d, want 2", r.Area())
	}
	if b, want := r.Box(), (Box{1, 0, 2, 2}); b != want {
		t.Errorf("box %v, want %v", b, want)
	}
}

func TestRLEBoxWrapsColumns(t *testing.T) {
	// toBbox: a run of ones that continues from the bottom of column 0 to
	// the top of column 1 makes the box span every row, though no single
	// column has a one in rows 0 and 2 together. h=3, w=2: column 0 =
	// [0 0 1], column 1 = [1 0 0]: counts [2 2 2].
	r := &RLE{H: 3, W: 2, Counts: []uint32{2, 2, 2}}
	if b, want := r.Box(), (Box{0, 0, 2, 3}); b != want {
		t.Errorf("box %v, want %v", b, want)
	}
}

func TestRLEString(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts []uint32
		want   string
	}{
		// Each count below 16 is one character, '0'+count.
		{"small counts", []uint32{0, 1, 3}, "013"},
		// 100 = 0b11_00100: low group 4 with the "more" bit (4+32+48 = 'T'),
		// then 3 ('3').
		{"a count over 31", []uint32{100}, "T3"},
		// From the fourth count on, the difference to the count two
		// before is stored: 5−2 = 3; 1−7 = −6 is 0b11010 in 5 bits with
		// the sign bit set and no more groups: 26+48 = 'J'.
		{"deltas", []uint32{2, 7, 5, 1}, "27" + "5" + "J"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &RLE{Counts: tc.counts}
			if got := r.String(); got != tc.want {
				t.Fatalf("String(%v) = %q, want %q", tc.counts, got, tc.want)
			}
			var sum uint32
			for _, c := range tc.counts {
				sum += c
			}
			back, err := ParseRLE(tc.want, int(sum), 1)
			if err != nil || !slices.Equal(back.Counts, tc.counts) {
				t.Errorf("ParseRLE(%q) = %v, %v; want %v", tc.want, back, err, tc.counts)
			}
		})
	}
}

func TestRLERoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		w, h := 1+rng.IntN(40), 1+rng.IntN(40)
		bm := make([]uint8, w*h)
		p := rng.Float64()
		for i := range bm {
			if rng.Float64() < p {
				bm[i] = 1
			}
		}
		r, err := EncodeRLE(bm, w, h)
		if err != nil {
			t.Fatal(err)
		}
		s := r.String()
		back, err := ParseRLE(s, h, w)
		if err != nil {
			t.Fatalf("ParseRLE(%q): %v", s, err)
		}
		got, err := back.Decode()
		if err != nil || !slices.Equal(got, bm) {
			t.Fatalf("%dx%d mask: string round trip differs (%v)", w, h, err)
		}
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var j RLE
		if err := json.Unmarshal(data, &j); err != nil || !slices.Equal(j.Counts, r.Counts) || j.W != w || j.H != h {
			t.Fatalf("JSON round trip of %s: %v, %v", data, j, err)
		}
	}
}

func TestParseRLEErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    string
		h, w int
	}{
		{"character below '0'", "0/1", 1, 2},
		{"character above 'o'", "0p", 1, 1},
		{"counts short of the size", "013", 5, 1},
		{"counts past the size", "013", 3, 1},
		{"string ends inside a count", "T", 100, 1},
		{"negative count", "0J", 1, 1},
		{"huge size", "0", 1 << 20, 1 << 20},
		{"count group too long", "oooooooooooo0", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := ParseRLE(tc.s, tc.h, tc.w); !errors.Is(err, ErrFormat) {
				t.Errorf("ParseRLE(%q, %d, %d) = %v, %v; want ErrFormat", tc.s, tc.h, tc.w, r, err)
			}
		})
	}
}

func TestUncompressedRLEJSON(t *testing.T) {
	var r RLE
	if err := json.Unmarshal([]byte(`{"size": [2, 3], "counts": [2, 2, 2]}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.H != 2 || r.W != 3 || !slices.Equal(r.Counts, []uint32{2, 2, 2}) {
		t.Errorf("got %+v", r)
	}
	for _, bad := range []string{`{"size": [2, 3], "counts": [2, 2]}`, `{"size": [2], "counts": "0"}`, `{"size": [1, 1], "counts": [-1, 2]}`, `{"size": [1, 1], "counts": {}}`} {
		if err := json.Unmarshal([]byte(bad), &r); !errors.Is(err, ErrFormat) {
			t.Errorf("Unmarshal(%s) = %v, want ErrFormat", bad, err)
		}
	}
}

func TestPolygonsRLESquare(t *testing.T) {
	// rleFrPoly walks the polygon's edges at five times the resolution and
	// keeps the boundary points on column centres (x+0.5); there a run
	// starts or ends at row ceil((5y+0.5)/5−0.5). For the square with
	// corners (10, 10) and (20, 20) the top edge gives row ceil(9.6) = 10
	// and the bottom ceil(19.6) = 20 in columns 10…19: exactly the pixels
	// of Box{10, 10, 20, 20}.
	r, err := PolygonsRLE([][]float64{{10, 10, 20, 10, 20, 20, 10, 20}}, 30, 25)
	if err != nil {
		t.Fatal(err)
	}
	bm, err := r.Decode()
	if err != nil {
		t.Fatal(err)
	}
	for y := range 25 {
		for x := range 30 {
			want := uint8(0)
			if x >= 10 && x < 20 && y >= 10 && y < 20 {
				want = 1
			}
			if bm[y*30+x] != want {
				t.Fatalf("pixel (%d, %d) = %d, want %d", x, y, bm[y*30+x], want)
			}
		}
	}
	if b := r.Box(); b != (Box{10, 10, 20, 20}) {
		t.Errorf("box %v", b)
	}
	// The same square as two halves, merged: the union.
	two, err := PolygonsRLE([][]float64{{10, 10, 15, 10, 15, 20, 10, 20}, {15, 10, 20, 10, 20, 20, 15, 20}}, 30, 25)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(two.Counts, r.Counts) {
		t.Errorf("two halves: counts %v, want %v", two.Counts, r.Counts)
	}
}

func TestPolygonsRLEReversedAndOutside(t *testing.T) {
	// Orientation does not matter; parts outside the image are cut.
	cw, err := PolygonsRLE([][]float64{{-5, -5, 8, -5, 8, 6, -5, 6}}, 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	ccw, err := PolygonsRLE([][]float64{{-5, -5, -5, 6, 8, 6, 8, -5}}, 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cw.Counts, ccw.Counts) {
		t.Errorf("orientation changes the mask: %v vs %v", cw.Counts, ccw.Counts)
	}
	if a := cw.Area(); a != 8*6 {
		t.Errorf("area %d, want %d (columns 0–7, rows 0–5)", a, 8*6)
	}
	for _, bad := range [][][]float64{{{1, 2, 3}}, {{0, 0, 1e12, 0, 5, 5}}, {}} {
		if _, err := PolygonsRLE(bad, 10, 10); !errors.Is(err, ErrFormat) {
			t.Errorf("PolygonsRLE(%v) = %v, want ErrFormat", bad, err)
		}
	}
}
