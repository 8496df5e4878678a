package govision_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The layering tests keep the workspace the shape modules.txt describes:
// imports only go down the list, no module reaches into another's internal/
// packages, every module builds on its own (replace lines for its siblings),
// and go.work is the one tools/gowork writes.

const root = "govision.dev" // the root module's path; a folder's module is root + "/" + folder

// module is one line of modules.txt: a folder and the sibling folders its
// packages may import.
type module struct {
	dir     string
	allowed []string
}

func (m module) path() string {
	if m.dir == "." {
		return root
	}
	return root + "/" + m.dir
}

// mayImport reports whether m's packages may import the packages of the
// module in folder dir. The root module, which holds the tests that span
// modules, may import every module; no module may import the root.
func (m module) mayImport(dir string) bool {
	if dir == m.dir {
		return true
	}
	if m.dir == "." {
		return true
	}
	return slices.Contains(m.allowed, dir)
}

// readModules parses modules.txt, adding the root module "." last, as
// tools/modules does.
func readModules(t *testing.T) []module {
	t.Helper()
	f, err := os.Open("modules.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mods []module
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		m := module{dir: fields[0], allowed: fields[1:]}
		for _, a := range m.allowed {
			if !seen[a] {
				t.Errorf("modules.txt:%d: %s may import %s, which is not listed above it", line, m.dir, a)
			}
		}
		seen[m.dir] = true
		mods = append(mods, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return append(mods, module{dir: "."})
}

// owner returns the folder of the module holding the package with import
// path p ("." for the root module), or "" if p is not govision's.
func owner(mods []module, p string) string {
	if p != root && !strings.HasPrefix(p, root+"/") {
		return ""
	}
	best := "."
	for _, m := range mods {
		if m.dir == "." {
			continue
		}
		mp := m.path()
		if (p == mp || strings.HasPrefix(p, mp+"/")) && (best == "." || len(m.dir) > len(best)) {
			best = m.dir
		}
	}
	return best
}

// listedPackage is the part of `go list -json` the layering test reads.
type listedPackage struct {
	ImportPath string
	Module     *struct{ Path string }
	Imports    []string
}

// importViolations returns, for the packages of module m among pkgs, every
// import that goes up modules.txt or into another module's internal/.
func importViolations(mods []module, m module, pkgs []listedPackage) []string {
	var bad []string
	for _, p := range pkgs {
		if p.Module == nil || p.Module.Path != m.path() {
			continue // a dependency; it is checked in its own module
		}
		from, _, _ := strings.Cut(p.ImportPath, " ") // "x [x.test]" is x's test variant
		for _, imp := range p.Imports {
			imp, _, _ = strings.Cut(imp, " ")
			// A test binary imports its package's external tests
			// ("x_test"), which belong with x.
			imp = strings.TrimSuffix(imp, "_test")
			o := owner(mods, imp)
			if o == "" {
				continue
			}
			if !m.mayImport(o) {
				bad = append(bad, from+" imports "+imp+": module "+m.dir+" may import only "+allowedList(m))
			}
			if parent, ok := internalParent(imp); ok && owner(mods, parent) != m.dir {
				bad = append(bad, from+" imports "+imp+": it reaches into the internal packages of module "+owner(mods, parent))
			}
		}
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

func allowedList(m module) string {
	if len(m.allowed) == 0 {
		return "no other govision module"
	}
	return strings.Join(m.allowed, ", ")
}

// internalParent returns the import path above the first "internal" element
// of p: the tree allowed to import it.
func internalParent(p string) (string, bool) {
	elems := strings.Split(p, "/")
	i := slices.Index(elems, "internal")
	if i < 0 {
		return "", false
	}
	return strings.Join(elems[:i], "/"), true
}

// goTool returns the go command, skipping the test when there is none.
func goTool(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	return gobin
}

// goRun runs the go command in dir and returns its stdout.
func goRun(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(goTool(t), args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("in %s: go %s: %v\n%s", dir, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

func TestImportsGoDown(t *testing.T) {
	goTool(t)
	mods := readModules(t)
	for _, m := range mods {
		t.Run(m.dir, func(t *testing.T) {
			// -deps -test: every package of the module, its tests included,
			// with its direct imports (-deps also lists the dependencies,
			// which importViolations leaves to their own module). -e: an
			// import cycle, which an upward import can make, is reported
			// here rather than stopping go list.
			out := goRun(t, m.dir, "list", "-e", "-deps", "-test", "-json=ImportPath,Module,Imports", "./...")
			var pkgs []listedPackage
			dec := json.NewDecoder(bytes.NewReader(out))
			for {
				var p listedPackage
				if err := dec.Decode(&p); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatalf("go list output: %v", err)
				}
				pkgs = append(pkgs, p)
			}
			for _, v := range importViolations(mods, m, pkgs) {
				t.Error(v)
			}
		})
	}
}

func TestImportViolations(t *testing.T) {
	mods := []module{
		{dir: "accel"},
		{dir: "vision", allowed: []string{"accel"}},
		{dir: "datasets", allowed: []string{"vision"}},
		{dir: "."},
	}
	pkg := func(module, path string, imports ...string) listedPackage {
		return listedPackage{ImportPath: path, Module: &struct{ Path string }{module}, Imports: imports}
	}
	for _, tc := range []struct {
		name string
		m    module
		pkgs []listedPackage
		want int // violations
	}{
		{"down", mods[1], []listedPackage{pkg("govision.dev/vision", "govision.dev/vision/tensor", "govision.dev/accel", "fmt", "golang.org/x/image/draw")}, 0},
		{"within the module", mods[1], []listedPackage{pkg("govision.dev/vision", "govision.dev/vision/nn", "govision.dev/vision/tensor", "govision.dev/vision/internal/pool")}, 0},
		{"up", mods[0], []listedPackage{pkg("govision.dev/accel", "govision.dev/accel", "govision.dev/vision/tensor")}, 1},
		{"up from a test", mods[0], []listedPackage{pkg("govision.dev/accel", "govision.dev/accel_test [govision.dev/accel.test]", "govision.dev/vision/tensor [govision.dev/accel.test]")}, 1},
		{"down but not allowed", mods[2], []listedPackage{pkg("govision.dev/datasets", "govision.dev/datasets", "govision.dev/accel")}, 1},
		{"a dependency's imports are its own business", mods[2], []listedPackage{pkg("govision.dev/vision", "govision.dev/vision", "govision.dev/accel")}, 0},
		{"into another module's internal", mods[1], []listedPackage{pkg("govision.dev/vision", "govision.dev/vision", "govision.dev/accel/internal/x")}, 1},
		{"into the root's internal", mods[1], []listedPackage{pkg("govision.dev/vision", "govision.dev/vision", "govision.dev/internal/x")}, 2},
		{"the root imports anything", mods[3], []listedPackage{pkg("govision.dev", "govision.dev_test", "govision.dev/datasets", "govision.dev/accel")}, 0},
		{"nobody imports the root", mods[0], []listedPackage{pkg("govision.dev/accel", "govision.dev/accel", "govision.dev/bench")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := importViolations(mods, tc.m, tc.pkgs)
			if len(got) != tc.want {
				t.Errorf("got %d violations, want %d: %q", len(got), tc.want, got)
			}
		})
	}
}

// goMod is the part of `go mod edit -json` the layering test reads.
type goMod struct {
	Module  struct{ Path string }
	Require []struct{ Path string }
	Replace []struct{ Old, New struct{ Path string } }
}

func TestGoModReplaces(t *testing.T) {
	goTool(t)
	mods := readModules(t)
	for _, m := range mods {
		t.Run(m.dir, func(t *testing.T) {
			var gm goMod
			if err := json.Unmarshal(goRun(t, m.dir, "mod", "edit", "-json"), &gm); err != nil {
				t.Fatal(err)
			}
			if gm.Module.Path != m.path() {
				t.Errorf("%s/go.mod: module %s, want %s", m.dir, gm.Module.Path, m.path())
			}
			for _, r := range gm.Require {
				o := owner(mods, r.Path)
				if o == "" {
					continue
				}
				if !m.mayImport(o) {
					t.Errorf("%s/go.mod requires %s: module %s may import only %s", m.dir, r.Path, m.dir, allowedList(m))
				}
				// Outside the workspace a sibling is found only through a
				// replace line pointing at its folder.
				want := path.Clean(path.Join(relUp(m.dir), o))
				if m.dir == "." {
					want = "./" + o
				}
				i := slices.IndexFunc(gm.Replace, func(rep struct{ Old, New struct{ Path string } }) bool {
					return rep.Old.Path == r.Path
				})
				switch {
				case i < 0:
					t.Errorf("%s/go.mod requires %s with no replace line; add: replace %s => %s", m.dir, r.Path, r.Path, want)
				case gm.Replace[i].New.Path != want:
					t.Errorf("%s/go.mod: replace %s => %s, want => %s", m.dir, r.Path, gm.Replace[i].New.Path, want)
				}
			}
		})
	}
}

// relUp returns the relative path from folder dir back to the repository
// root ("../.." for "a/b").
func relUp(dir string) string {
	return strings.TrimSuffix(strings.Repeat("../", strings.Count(dir, "/")+1), "/")
}

func TestGoWork(t *testing.T) {
	goTool(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("tools/gowork needs bash: %v", err)
	}
	cmd := exec.Command("bash", "tools/gowork", "--check")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("tools/gowork --check: %v\n%s", err, out)
	}
}

// TestModulesListed fails on a go.mod that modules.txt does not list: such
// a module would be left out of go.work, tools/test and CI. Modules under an
// internal/ folder are exempt: they are generators (accel/internal/asmgen),
// run by go generate outside the workspace.
func TestModulesListed(t *testing.T) {
	listed := map[string]bool{}
	for _, m := range readModules(t) {
		listed[m.dir] = true
	}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch name := d.Name(); {
			case p != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")),
				name == "testdata", name == "internal":
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == "go.mod" {
			if dir := filepath.ToSlash(filepath.Dir(p)); !listed[dir] {
				t.Errorf("%s is a module that modules.txt does not list", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
