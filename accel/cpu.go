package accel

import (
	"runtime"

	"golang.org/x/sys/cpu"
)

// Features lists the CPU features accel looks for that this machine has,
// in the order accel prefers them (for example "avx512f", "avx2", "fma").
func Features() []string {
	var fs []string
	if runtime.GOARCH != "amd64" {
		return fs
	}
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"avx512f", cpu.X86.HasAVX512F},
		{"avx512bw", cpu.X86.HasAVX512BW},
		{"avx512vl", cpu.X86.HasAVX512VL},
		{"avx512vnni", cpu.X86.HasAVX512VNNI},
		{"avx2", cpu.X86.HasAVX2},
		{"fma", cpu.X86.HasFMA},
		{"avx", cpu.X86.HasAVX},
	} {
		if f.ok {
			fs = append(fs, f.name)
		}
	}
	return fs
}

// Kernel names one kernel family and the implementation this process uses
// for it.
type Kernel struct {
	Name string // the kernel, e.g. "sgemm"
	Impl string // its implementation, e.g. "avx512 16x32" or "go 4x8"
}

// Kernels reports the implementation chosen for each kernel family.
func Kernels() []Kernel {
	return []Kernel{
		{"sgemm", sgemmImpl()},
		{"conv2d", conv2dImpl()},
		{"conv2d 1x1", gemm.name},
		{"depthwise", depthwiseImpl()},
		{"pooling", poolingImpl()},
		{"elementwise", ew.name},
	}
}

// sgemmImpl names the Sgemm kernels in use.
func sgemmImpl() string {
	s := gemm.name
	if dotKernel != nil {
		s += "; deep A·Bᵀ: dot 6x4 avx512"
	}
	return s + "; m ≤ 32: skinny path"
}

// conv2dImpl names Conv2D's GEMM paths.
func conv2dImpl() string {
	if gemm.direct != nil {
		s := "implicit gemm: padded or phase-plane grid read in place (" + gemm.name + " direct), else im2col packing + " + gemm.name
		if winoAsm {
			s = "3x3 stride 1: winograd F(2x2,3x3) (avx512 transforms); " + s
		}
		return s
	}
	return "implicit gemm (im2col or padded-grid packing) + " + gemm.name
}

// poolingImpl names the pooling kernels in use: Go, but for darknet's 2×2
// windows where assembly took them (sgemm_amd64.go).
func poolingImpl() string {
	if maxPool2x2Asm {
		return "go; darknet 2x2: avx512"
	}
	return "go"
}

// depthwiseImpl names the depthwise kernels in use.
func depthwiseImpl() string {
	switch {
	case dw3x3s1Kernel != nil && dw3x3s2Kernel != nil:
		return "avx512 3x3 rows (stride 1 pad 1, stride 2) and padded planes (stride 1), go direct otherwise"
	case dw3x3Kernel != nil:
		return "avx512 3x3 stride 1, go direct otherwise"
	}
	return "go direct"
}
