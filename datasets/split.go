package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// SplitOptions configure AssignSplits.
type SplitOptions struct {
	// Ratios are the parts' shares; they are normalised to sum to 1.
	Ratios []float64
	// Names are the parts' names; empty means train, val, test.
	Names []string
	// Seed makes the assignment reproducible.
	Seed uint64
	// Stratify splits each stratum (see Strata) in the ratios, instead of
	// the whole data set.
	Stratify bool
}

// AssignSplits returns a split name for each of n records, strata[i] being
// record i's stratum (ignored unless opt.Stratify). Within a group (the
// data set, or a stratum) records are shuffled with opt.Seed and part k
// gets the records from round(n·(r0+…+r(k−1))) to round(n·(r0+…+rk)).
func AssignSplits(n int, strata []int, opt SplitOptions) ([]string, error) {
	names := opt.Names
	if len(names) == 0 {
		names = []string{"train", "val", "test"}
	}
	if len(opt.Ratios) == 0 || len(opt.Ratios) > len(names) {
		return nil, fmt.Errorf("datasets: %d ratios for %d split names", len(opt.Ratios), len(names))
	}
	total := 0.0
	for _, r := range opt.Ratios {
		if !(r >= 0) || math.IsInf(r, 0) {
			return nil, fmt.Errorf("datasets: split ratio %g", r)
		}
		total += r
	}
	if total <= 0 {
		return nil, fmt.Errorf("datasets: split ratios sum to %g", total)
	}
	groups := map[int][]int{}
	var keys []int
	for i := range n {
		k := 0
		if opt.Stratify && i < len(strata) {
			k = strata[i]
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	slices.Sort(keys)
	out := make([]string, n)
	for gi, k := range keys {
		idx := groups[k]
		rng := rand.New(rand.NewPCG(opt.Seed, uint64(gi)))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		cum, start := 0.0, 0
		for p, r := range opt.Ratios {
			cum += r / total
			end := int(math.Round(cum * float64(len(idx))))
			if p == len(opt.Ratios)-1 {
				end = len(idx)
			}
			for _, i := range idx[start:end] {
				out[i] = names[p]
			}
			start = end
		}
	}
	return out, nil
}

// Strata returns a stratum for each record from its classes: the image's
// class, or else its rarest object class over the data set (so that rare
// classes are spread over the splits), or −1 for a record with neither.
// classes[i] lists record i's class and its objects' classes.
func Strata(classes [][]int) []int {
	count := map[int]int{}
	for _, cs := range classes {
		for _, c := range cs {
			count[c]++
		}
	}
	out := make([]int, len(classes))
	for i, cs := range classes {
		out[i] = -1
		for _, c := range cs {
			if out[i] < 0 || count[c] < count[out[i]] || count[c] == count[out[i]] && c < out[i] {
				out[i] = c
			}
		}
	}
	return out
}
