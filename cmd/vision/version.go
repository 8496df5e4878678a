package main

import (
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what `vision version` reports.
type versionInfo struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Go       string `json:"go"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	Revision string `json:"revision,omitempty"` // VCS commit, when built from a checkout with -buildvcs
	Time     string `json:"time,omitempty"`     // its commit time, RFC 3339
	Modified bool   `json:"modified,omitempty"` // the checkout had uncommitted changes
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of vision, of Go, and the platform",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readVersion()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			rows := [][2]string{
				{"version", v.Version},
				{"module", v.Module},
				{"go", v.Go},
				{"platform", v.OS + "/" + v.Arch},
			}
			if v.Revision != "" {
				rev := v.Revision
				if v.Modified {
					rev += " (modified)"
				}
				rows = append(rows, [2]string{"revision", rev}, [2]string{"time", v.Time})
			}
			return writeTable(cmd.OutOrStdout(), rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// readVersion reads the version from the build information the go command
// embeds. A binary built inside the repository reports "(devel)"; one
// installed with `go install govision.dev/cmd/vision@v1.2.3` reports v1.2.3.
func readVersion() versionInfo {
	v := versionInfo{
		Module:  "govision.dev/cmd",
		Version: "(devel)",
		Go:      runtime.Version(),
		OS:      runtime.GOOS,
		Arch:    runtime.GOARCH,
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}
