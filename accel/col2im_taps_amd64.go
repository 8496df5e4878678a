//go:build amd64 && !purego

package accel

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX512F {
		tapSumKernel = tapSumAVX512Checked
	}
}

// tapSumImpls lists every tapSum this machine can run, for the tests.
func tapSumImpls() map[string]tapSumFunc {
	ks := map[string]tapSumFunc{"go": tapSumGo}
	if cpu.X86.HasAVX512F {
		ks["avx512"] = tapSumAVX512Checked
	}
	return ks
}

// tapSumAVX512Checked checks what the assembly relies on — dst holds the
// lanes of dmask (a run from lane 0), taps come in pairs — then calls it;
// col2imTaps has checked that every tap reads inside src.
func tapSumAVX512Checked(dst []float32, dmask int, src []float32, taps []int) {
	if dmask>>len(dst) != 0 || len(taps)%2 != 0 {
		panic("accel: tapSum: dmask wider than dst, or an odd tap list")
	}
	tapSumAVX512(&dst[0], dmask, &src[0], &taps[0], len(taps)/2)
}
