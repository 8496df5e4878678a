package main

import (
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"govision.dev/accel"
)

// envInfo is what `vision env` reports: what decides how fast the kernels
// run on this machine.
type envInfo struct {
	Go         string       `json:"go"`
	OS         string       `json:"os"`
	Arch       string       `json:"arch"`
	GOMAXPROCS int          `json:"gomaxprocs"`
	Threads    int          `json:"threads"`  // goroutines the kernels use (accel.Threads)
	Features   []string     `json:"features"` // CPU features accel can use (accel.Features)
	Kernels    []kernelInfo `json:"kernels"`  // implementation of each kernel (accel.Kernels)
}

type kernelInfo struct {
	Name string `json:"name"`
	Impl string `json:"impl"`
}

func newEnvCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the Go version, threads, CPU features and kernel implementations",
		Long: `env prints what decides how fast vision runs here: the Go version and
platform, GOMAXPROCS, the number of threads the kernels use (--threads), the
CPU features accel found, and the implementation each kernel uses.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e := readEnv()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), e)
			}
			features := strings.Join(e.Features, " ")
			if features == "" {
				features = "none"
			}
			rows := [][2]string{
				{"go", e.Go},
				{"platform", e.OS + "/" + e.Arch},
				{"gomaxprocs", itoa(e.GOMAXPROCS)},
				{"threads", itoa(e.Threads)},
				{"features", features},
				{"kernels:", ""},
			}
			for _, k := range e.Kernels {
				rows = append(rows, [2]string{"  " + k.Name, k.Impl})
			}
			return writeTable(cmd.OutOrStdout(), rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func readEnv() envInfo {
	e := envInfo{
		Go:         runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Threads:    accel.Threads(),
		Features:   accel.Features(),
		Kernels:    []kernelInfo{},
	}
	if e.Features == nil {
		e.Features = []string{} // JSON [] rather than null
	}
	for _, k := range accel.Kernels() {
		e.Kernels = append(e.Kernels, kernelInfo{Name: k.Name, Impl: k.Impl})
	}
	return e
}
