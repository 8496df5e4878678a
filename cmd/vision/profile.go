package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/profile"
)

// profileKinds are the values of --profile, with the pkg/profile mode each
// selects and the file that mode writes into --profile-dir.
var profileKinds = []struct {
	name string
	mode func(*profile.Profile)
	file string
}{
	{"cpu", profile.CPUProfile, "cpu.pprof"},
	{"mem", profile.MemProfile, "mem.pprof"},         // live heap
	{"alloc", profile.MemProfileAllocs, "mem.pprof"}, // every allocation
	{"block", profile.BlockProfile, "block.pprof"},
	{"mutex", profile.MutexProfile, "mutex.pprof"},
	{"trace", profile.TraceProfile, "trace.out"}, // for go tool trace
}

func profileKindNames() string {
	names := make([]string, len(profileKinds))
	for i, k := range profileKinds {
		names[i] = k.name
	}
	return strings.Join(names, ", ")
}

// runningProfile is a profile started by --profile.
type runningProfile struct {
	kind string
	path string // the file it writes on stop
	stop func()
}

// startProfile starts the profile --profile asks for, writing into
// --profile-dir.
func (g *globals) startProfile() error {
	i := 0
	for i < len(profileKinds) && profileKinds[i].name != g.profile {
		i++
	}
	if i == len(profileKinds) {
		return fmt.Errorf("--profile %q: unknown kind, want one of %s", g.profile, profileKindNames())
	}
	kind := profileKinds[i]

	// pkg/profile ends the process when it cannot create its file, so make
	// sure first that the folder exists and takes a file.
	dir := g.profileDir
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("--profile-dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".vision-profile-*")
	if err != nil {
		return fmt.Errorf("--profile-dir: %w", err)
	}
	f.Close()
	os.Remove(f.Name())

	path := filepath.Join(dir, kind.file)
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	// NoShutdownHook: main turns an interrupt into a cancelled context, and
	// the profile is stopped on the way out like after any other command.
	p := profile.Start(kind.mode, profile.ProfilePath(dir), profile.Quiet, profile.NoShutdownHook)
	g.running = &runningProfile{kind: kind.name, path: path, stop: p.Stop}
	g.logf("%s profile started, writing %s", kind.name, path)
	return nil
}

// stopProfile stops the running profile, if any, and says where it is.
// It is safe to call more than once.
func (g *globals) stopProfile() error {
	r := g.running
	if r == nil {
		return nil
	}
	g.running = nil
	r.stop()
	if _, err := os.Stat(r.path); err != nil {
		return fmt.Errorf("%s profile: %w", r.kind, err)
	}
	if !g.quiet {
		fmt.Fprintf(g.stderr, "vision: %s profile written to %s\n", r.kind, r.path)
	}
	return nil
}
