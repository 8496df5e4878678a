package nn

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"govision.dev/vision/tensor"
)

// Module is a layer or a model.
type Module interface {
	// Forward computes the module's output for x. A wrongly shaped x is an
	// error wrapping ErrShape, never a panic.
	Forward(x *tensor.Tensor) (*tensor.Tensor, error)
}

// Parent is implemented by containers whose children are not struct
// fields, such as Sequential.
type Parent interface {
	Children() []Child
}

// Child is a named sub-module.
type Child struct {
	Name   string
	Module Module
}

// loader is implemented by modules that derive state from their tensors
// (a folded batch norm): Walk's callers run loaded after changing them.
type loader interface {
	loaded()
}

// Errors.
var (
	// ErrShape is the category of a wrongly shaped input or parameter.
	ErrShape = tensor.ErrShape
	// ErrStateDict is the category of a state dict that does not fit a
	// module.
	ErrStateDict = errors.New("nn: state dict does not fit")
)

// Entry is one tensor of a module tree.
type Entry struct {
	Name     string         // dotted state-dict key, e.g. "layer1.0.bn1.weight"
	Tensor   *tensor.Tensor // the module's own tensor (not a copy)
	Buffer   bool           // running statistics and the like: saved, not trained
	Optional bool           // a checkpoint may lack it
}

// Walk lists every tensor of m in declaration order (struct fields in
// order, children in order), depth first, with its dotted name.
func Walk(m Module) []Entry {
	var out []Entry
	walk(m, "", &out, nil)
	return out
}

// Modules lists m and every module below it, depth first.
func Modules(m Module) []Module {
	var out []Module
	walk(m, "", nil, &out)
	return out
}

func walk(m Module, prefix string, out *[]Entry, mods *[]Module) {
	if isNil(m) {
		return
	}
	if mods != nil {
		*mods = append(*mods, m)
	}
	if p, ok := m.(Parent); ok {
		for _, c := range p.Children() {
			walk(c.Module, prefix+c.Name+".", out, mods)
		}
		return
	}
	v := reflect.ValueOf(m)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("nn")
		if !ok || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		walkField(v.Field(i), prefix+name, opts, out, mods)
	}
}

// isNil reports whether m is nil or a nil pointer (or other nilable
// value). Modules may be plain values such as ReLU{}, on which
// reflect.Value.IsNil would panic.
func isNil(m Module) bool {
	if m == nil {
		return true
	}
	switch v := reflect.ValueOf(m); v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}

var (
	tensorType = reflect.TypeFor[*tensor.Tensor]()
	moduleType = reflect.TypeFor[Module]()
)

func walkField(fv reflect.Value, name, opts string, out *[]Entry, mods *[]Module) {
	switch {
	case fv.Type() == tensorType:
		if fv.IsNil() || out == nil {
			return
		}
		*out = append(*out, Entry{
			Name:     name,
			Tensor:   fv.Interface().(*tensor.Tensor),
			Buffer:   hasOpt(opts, "buffer"),
			Optional: hasOpt(opts, "optional"),
		})
	case fv.Type().Implements(moduleType):
		if fv.Kind() == reflect.Interface && fv.IsNil() {
			return
		}
		walk(fv.Interface().(Module), name+".", out, mods)
	case fv.Kind() == reflect.Slice || fv.Kind() == reflect.Array:
		for j := 0; j < fv.Len(); j++ {
			walkField(fv.Index(j), name+"."+strconv.Itoa(j), opts, out, mods)
		}
	default:
		panic(fmt.Sprintf("nn: field %s of type %s has an nn tag but holds neither tensors nor modules", name, fv.Type()))
	}
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// StateDict returns m's tensors by name. The tensors are m's own, not
// copies: clone them before changing them if m is still in use.
func StateDict(m Module) map[string]*tensor.Tensor {
	sd := make(map[string]*tensor.Tensor)
	for _, e := range Walk(m) {
		sd[e.Name] = e.Tensor
	}
	return sd
}

// LoadReport says what a state dict did not fit.
type LoadReport struct {
	Missing    []string        // m's tensors the state dict lacks
	Unexpected []string        // the state dict's tensors m has no place for
	Mismatched []ShapeMismatch // tensors present in both with other shapes
}

// ShapeMismatch is a tensor whose shape in the state dict differs from the
// module's.
type ShapeMismatch struct {
	Name      string
	Want, Got []int
}

// Empty reports whether everything fitted.
func (r LoadReport) Empty() bool {
	return len(r.Missing) == 0 && len(r.Unexpected) == 0 && len(r.Mismatched) == 0
}

func (r LoadReport) String() string {
	var parts []string
	if len(r.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("missing %d: %s", len(r.Missing), strings.Join(r.Missing, ", ")))
	}
	if len(r.Unexpected) > 0 {
		parts = append(parts, fmt.Sprintf("unexpected %d: %s", len(r.Unexpected), strings.Join(r.Unexpected, ", ")))
	}
	if len(r.Mismatched) > 0 {
		var ms []string
		for _, m := range r.Mismatched {
			ms = append(ms, fmt.Sprintf("%s (model %v, state dict %v)", m.Name, m.Want, m.Got))
		}
		parts = append(parts, fmt.Sprintf("wrong shape %d: %s", len(r.Mismatched), strings.Join(ms, ", ")))
	}
	if len(parts) == 0 {
		return "all tensors loaded"
	}
	return strings.Join(parts, "; ")
}

// LoadError is LoadStateDict's error: everything that did not fit.
type LoadError struct{ Report LoadReport }

func (e *LoadError) Error() string {
	return "nn: state dict does not fit the model: " + e.Report.String()
}

func (e *LoadError) Unwrap() error { return ErrStateDict }

// LoadStateDict copies sd's tensors into m's, by name, strictly: if any of
// m's tensors is missing from sd (other than optional ones), any of sd's
// has no place in m, or any shape differs, it changes nothing and returns a
// *LoadError naming all of them.
func LoadStateDict(m Module, sd map[string]*tensor.Tensor) error {
	r := check(m, sd)
	if !r.Empty() {
		return &LoadError{Report: r}
	}
	load(m, sd)
	return nil
}

// AdoptStateDict loads sd into m by name as LoadStateDict does, strictly
// (a tensor missing, unexpected or wrongly shaped is a *LoadError and then
// nothing changes), but without copying: each of m's tensors takes over the
// data of sd's tensor of the same name and shape, so that afterwards they
// share their values. m's tensors stay the same *tensor.Tensor values, with
// their own shapes, now over sd's data; their old data is left to the
// garbage collector.
//
// It is for loading a state dict that nothing else will use, such as one
// just read from a file by weights.Load: m then holds one copy of the
// weights where LoadStateDict would hold two, the file's and m's. The
// caller must not change or Release sd's tensors afterwards: they are m's.
func AdoptStateDict(m Module, sd map[string]*tensor.Tensor) error {
	r := check(m, sd)
	if !r.Empty() {
		return &LoadError{Report: r}
	}
	for _, e := range Walk(m) {
		t, ok := sd[e.Name]
		if !ok || t == nil || t == e.Tensor {
			continue
		}
		// A fresh header over t's data, in e.Tensor's shape (a scalar
		// buffer may be saved as [] or [1]), rather than *t itself, so that
		// e.Tensor does not inherit t's tie to the tensor pool, if any.
		// check has matched the sizes, so FromData does not fail; were it
		// to, the values are copied instead.
		if adopted, err := tensor.FromData(e.Tensor.Shape(), t.Data()); err == nil {
			*e.Tensor = *adopted
		} else {
			copy(e.Tensor.Data(), t.Data())
		}
	}
	Refresh(m)
	return nil
}

// LoadStateDictLenient copies the tensors of sd that fit m and reports
// those that did not (torch's strict=False, which also skips wrong shapes).
func LoadStateDictLenient(m Module, sd map[string]*tensor.Tensor) LoadReport {
	r := check(m, sd)
	load(m, sd)
	return r
}

func check(m Module, sd map[string]*tensor.Tensor) LoadReport {
	var r LoadReport
	have := make(map[string]bool)
	for _, e := range Walk(m) {
		have[e.Name] = true
		t, ok := sd[e.Name]
		switch {
		case !ok || t == nil:
			if !e.Optional {
				r.Missing = append(r.Missing, e.Name)
			}
		case !sameShape(e.Tensor, t):
			r.Mismatched = append(r.Mismatched, ShapeMismatch{Name: e.Name, Want: e.Tensor.Shape(), Got: t.Shape()})
		}
	}
	for name := range sd {
		if !have[name] {
			r.Unexpected = append(r.Unexpected, name)
		}
	}
	slices.Sort(r.Unexpected)
	return r
}

// sameShape compares shapes, treating a 0-dimensional tensor and a
// one-element tensor of shape [1] as the same (a scalar buffer such as
// num_batches_tracked is saved either way).
func sameShape(a, b *tensor.Tensor) bool {
	sa, sb := a.Shape(), b.Shape()
	if a.Len() == 1 && b.Len() == 1 && len(sa) <= 1 && len(sb) <= 1 {
		return true
	}
	return slices.Equal(sa, sb)
}

func load(m Module, sd map[string]*tensor.Tensor) {
	for _, e := range Walk(m) {
		if t, ok := sd[e.Name]; ok && t != nil && sameShape(e.Tensor, t) {
			copy(e.Tensor.Data(), t.Data())
		}
	}
	Refresh(m)
}

// Refresh recomputes what layers derive from their tensors (folded batch
// norms). LoadStateDict calls it; call it after changing a model's tensors
// in place. It must not run concurrently with Forward.
func Refresh(m Module) {
	for _, sub := range Modules(m) {
		if l, ok := sub.(loader); ok {
			l.loaded()
		}
	}
}

// NumParams counts the values of m's tensors that are not buffers.
func NumParams(m Module) int {
	n := 0
	for _, e := range Walk(m) {
		if !e.Buffer {
			n += e.Tensor.Len()
		}
	}
	return n
}
