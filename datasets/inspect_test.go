package datasets

import (
	"context"
	"image"
	"strings"
	"testing"
)

func TestVerifyAndSummarize(t *testing.T) {
	img := func(w, h int) Image { return Image{Pixels: image.NewGray(image.Rect(0, 0, w, h))} }
	recs := []*Record{
		{ID: "a", Name: "a.png", Width: 10, Height: 8, Image: img(10, 8), Class: -1, Source: "a.xml",
			Objects: []Object{{Class: 0, Box: Box{0, 0, 10, 8}, ID: 1}, {Class: 1, Box: Box{5, 5, 11, 8}, Where: "a.xml:7", ID: 2}}},
		{ID: "a", Name: "b.png", Width: 12, Height: 8, Image: img(10, 8), Class: -1, Source: "b.xml",
			Objects: []Object{{Class: 3, Box: Box{1, 1, 1, 2}, Where: "b.xml:3", ID: 1, Difficult: true}}},
	}
	classes := []Class{{Name: "x"}, {Name: "y"}}
	probs, n, err := Verify(context.Background(), &sliceReader{recs: recs, classes: classes}, InspectOptions{Workers: 2})
	if err != nil || n != 2 {
		t.Fatal(n, err)
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	for _, want := range []string{
		"a.xml:7: box [5 5 11 8] leaves the 10x8 image",
		"b.xml: duplicate image ID \"a\" (also a.xml)",
		"b.xml:3: duplicate annotation id 1 (also a.xml)",
		"b.xml: annotation says 12x8, the image b.png is 10x8",
		"b.xml:3: class 3 unknown: the data set has 2 classes",
		"b.xml:3: box [1 1 1 2] is empty or inverted",
	} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("no problem %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if len(got) != 6 {
		t.Errorf("%d problems, want 6:\n%s", len(got), strings.Join(got, "\n"))
	}
	s, bad, err := Summarize(context.Background(), &sliceReader{recs: recs, classes: classes}, nil)
	if err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	if s.Images != 2 || s.Objects != 3 || s.Difficult != 1 || s.Classes[0].Objects != 1 || s.PerImage.Max != 2 || s.Width.Max != 12 {
		t.Errorf("summary %+v", s)
	}
}
