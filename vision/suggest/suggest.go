// Package suggest finds the names a mistyped one was probably meant to be:
// the "did you mean" of the zoos' unknown-model errors (classify, detect).
package suggest

import (
	"math"
	"slices"
	"strings"
)

// Close returns the known names name was probably meant to be, at most
// six, nearest first (ties in known's order): those that contain name
// (lower-cased, three letters or more), and of the others within an edit
// distance of max(2, len/3) the nearest. It is empty when nothing is
// close.
func Close(name string, known []string) []string {
	type match struct {
		name string
		d    int
	}
	var ms []match
	low := strings.ToLower(name)
	best := math.MaxInt
	for _, n := range known {
		d := editDistance(low, n)
		sub := len(low) >= 3 && strings.Contains(n, low)
		if d <= max(2, len(n)/3) || sub {
			ms = append(ms, match{n, d})
			if !sub {
				best = min(best, d)
			}
		}
	}
	// The nearest names, and those that contain the name given.
	ms = slices.DeleteFunc(ms, func(m match) bool { return m.d > best && !strings.Contains(m.name, low) })
	slices.SortStableFunc(ms, func(a, b match) int { return a.d - b.d })
	if len(ms) > 6 {
		ms = ms[:6]
	}
	close := make([]string, len(ms))
	for i, m := range ms {
		close[i] = m.name
	}
	return close
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
