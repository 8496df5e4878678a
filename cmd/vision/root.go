package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"govision.dev/accel"
)

// globals holds the persistent flags every command shares, and the profile
// they may have started.
type globals struct {
	threads    int
	profile    string
	profileDir string
	quiet      bool
	verbose    bool

	stderr  io.Writer
	running *runningProfile // nil unless --profile started one
}

// run executes the command line args (without the program name), writing
// results to stdout and messages to stderr. It returns the command's error
// for main to print; it never exits.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	g := &globals{stderr: stderr}
	root := newRootCmd(g)
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	// PersistentPostRunE stops the profile after a command that succeeded;
	// cobra skips it when the command fails, and the profile is still wanted.
	if perr := g.stopProfile(); err == nil {
		err = perr
	}
	return err
}

// newRootCmd builds the command tree. Subcommands must not set their own
// PersistentPreRunE or PersistentPostRunE: cobra would then skip the root's,
// which apply the global flags.
func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "vision",
		Short: "Pure-Go computer vision: classify, detect, segment, compress",
		Long: `vision runs govision's models and kernels from the command line.

Everything runs on the CPU, in Go, with no cgo.`,
		SilenceErrors:      true, // main prints the error once
		SilenceUsage:       true, // an error is not a reason to print the usage
		PersistentPreRunE:  g.setUp,
		PersistentPostRunE: func(*cobra.Command, []string) error { return g.stopProfile() },
	}
	pf := root.PersistentFlags()
	pf.IntVar(&g.threads, "threads", 0, "goroutines the kernels may use (0: GOMAXPROCS)")
	pf.StringVar(&g.profile, "profile", "", "profile the command: "+profileKindNames())
	pf.StringVar(&g.profileDir, "profile-dir", ".", "folder the --profile file is written to")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only results and errors")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "also print what vision is doing, on stderr")

	root.AddCommand(
		newVersionCmd(),
		newEnvCmd(),
		newClassifyCmd(g), newModelsCmd(g),
		newDatasetCmd(g),
		newDetectCmd(g),
		newWeightsCmd(g),
		newTrainCmd(g), newEvalCmd(g),
	)
	return root
}

// setUp applies the global flags before any command runs.
func (g *globals) setUp(cmd *cobra.Command, _ []string) error {
	if g.quiet && g.verbose {
		return errors.New("--quiet and --verbose cannot be used together")
	}
	if g.threads < 0 {
		return fmt.Errorf("--threads %d: want 0 (GOMAXPROCS) or more", g.threads)
	}
	if cmd.Flags().Changed("threads") {
		accel.SetThreads(g.threads)
		g.logf("kernel threads: %d", accel.Threads())
	}
	if g.profile != "" {
		return g.startProfile()
	}
	return nil
}

// logf prints a progress message on stderr with --verbose.
func (g *globals) logf(format string, args ...any) {
	if g.verbose {
		fmt.Fprintf(g.stderr, "vision: "+format+"\n", args...)
	}
}
