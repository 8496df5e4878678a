package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"unicode"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// storageDtypes maps the torch storage classes a checkpoint may name to
// their element types.
var storageDtypes = map[string]dtype{
	"torch.FloatStorage":    dtF32,
	"torch.HalfStorage":     dtF16,
	"torch.BFloat16Storage": dtBF16,
	"torch.DoubleStorage":   dtF64,
	"torch.LongStorage":     dtI64,
	"torch.IntStorage":      dtI32,
	"torch.ShortStorage":    dtI16,
	"torch.CharStorage":     dtI8,
	"torch.ByteStorage":     dtU8,
	"torch.BoolStorage":     dtBool,
}

// rebuilders are the allowed functions, by module.name; each only builds a
// tensorRef from its arguments.
var rebuilders = map[string]types.Callable{
	"torch._utils._rebuild_tensor_v2":            rebuildTensor{},
	"torch._utils._rebuild_parameter":            rebuildParameter{},
	"torch._utils._rebuild_parameter_with_state": rebuildParameter{},
	"collections.OrderedDict":                    &types.OrderedDictClass{},
}

// AllowedGlobals returns, sorted, the pickle globals (module.name) that a
// PyTorch checkpoint may name: collections.OrderedDict, the torch functions
// that rebuild tensors and parameters, and the torch storage classes. Any
// other global is refused. (gopickle itself also resolves
// __builtin__.object and copy_reg._reconstructor, to inert Go values that
// run nothing; a state_dict entry holding one is refused as not a tensor.)
func AllowedGlobals() []string {
	var g []string
	for k := range rebuilders {
		g = append(g, k)
	}
	for k := range storageDtypes {
		g = append(g, k)
	}
	sort.Strings(g)
	return g
}

// findClass resolves a pickle global against the allowlist; file names the
// checkpoint in errors.
func findClass(file string) func(module, name string) (any, error) {
	return func(module, name string) (any, error) {
		g := module + "." + name
		if c, ok := rebuilders[g]; ok {
			return c, nil
		}
		if dt, ok := storageDtypes[g]; ok {
			return &storageClass{name: g, dt: dt}, nil
		}
		return nil, refusedGlobal(file, module, name)
	}
}

// refusedGlobal explains why a global is refused. A class from torch.nn or
// torchvision means a whole pickled model; any other capitalised name is a
// class too and may be one.
func refusedGlobal(file, module, name string) error {
	g := module + "." + name
	isClass := name != "" && unicode.IsUpper(rune(name[0]))
	for _, p := range []string{"torch.nn.modules.", "torchvision.models.", "torchvision.ops.", "torch.jit."} {
		if isClass && strings.HasPrefix(module+".", p) {
			return formatErr(file, "", "pickle global %s is not allowed: the file is a whole pickled model (torch.save(model)), which only Python code can rebuild; in Python, load it and save its weights with torch.save(model.state_dict(), path) (a checkpoint never runs code)", g)
		}
	}
	if isClass {
		return formatErr(file, "", "pickle global %s is not allowed (a checkpoint never runs code); if the file is a whole pickled model, save model.state_dict() instead", g)
	}
	return formatErr(file, "", "pickle global %s is not allowed (a checkpoint never runs code)", g)
}

// storageClass is an allowed torch storage class, as found in a pickle.
type storageClass struct {
	name string
	dt   dtype
}

// storageRef is a storage named by a persistent id: its record key, element
// type and element count. Its data is read after unpickling.
type storageRef struct {
	key   string
	class *storageClass
	numel int
}

// tensorRef is a tensor as the pickle describes it: a view of a storage.
type tensorRef struct {
	st     *storageRef
	offset int
	size   []int
	stride []int
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, storage_offset,
// size, stride, requires_grad, backward_hooks[, metadata]).
type rebuildTensor struct{}

func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 || len(args) > 7 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 takes 4 to 7 arguments, got %d", len(args))
	}
	st, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage is %s", pyType(args[0]))
	}
	off, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset is %s", pyType(args[1]))
	}
	size, err := intTuple(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(args[3], "stride")
	if err != nil {
		return nil, err
	}
	return &tensorRef{st: st, offset: off, size: size, stride: stride}, nil
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad,
// backward_hooks) and _rebuild_parameter_with_state(…, state): a parameter
// is its tensor.
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 3 || len(args) > 4 {
		return nil, fmt.Errorf("_rebuild_parameter takes 3 or 4 arguments, got %d", len(args))
	}
	t, ok := args[0].(*tensorRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter: data is %s, not a tensor", pyType(args[0]))
	}
	return t, nil
}

func intTuple(v any, what string) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %s is %s, not a tuple", what, pyType(v))
	}
	if t.Len() > maxDims {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %s has %d dimensions, more than %d", what, t.Len(), maxDims)
	}
	s := make([]int, t.Len())
	for i := range s {
		d, ok := t.Get(i).(int)
		if !ok {
			return nil, fmt.Errorf("_rebuild_tensor_v2: %s holds %s", what, pyType(t.Get(i)))
		}
		s[i] = d
	}
	return s, nil
}

// maxDims bounds a tensor's dimensions (torch allows 64).
const maxDims = 64

// pyType names the Python type of an unpickled value, for errors.
func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int, *big.Int:
		return "an int"
	case float64:
		return "a float"
	case string:
		return "a str"
	case []byte:
		return "bytes"
	case *types.Tuple:
		return "a tuple"
	case *types.List:
		return "a list"
	case *types.Dict, *types.OrderedDict:
		return "a dict"
	case *tensorRef:
		return "a tensor"
	case *storageRef:
		return "a storage"
	}
	return fmt.Sprintf("a %T", v)
}

// Limits on the pickle (data.pkl): its size, and an estimate of the memory
// gopickle takes to run it, counted by scanPickle.
const (
	maxPickle     = 64 << 20
	maxPickleHeap = 512 << 20
	maxPickleLine = 64 << 10
	maxLongBytes  = 256
)

// scanPickle walks the opcodes of p, as Python's pickletools.genops does,
// before gopickle runs them. It checks that every length-prefixed argument
// lies inside p (gopickle allocates a claimed length before reading it),
// that the opcodes gopickle would panic on or be slow on have sane
// arguments, and that an estimate of the memory gopickle needs to run p
// stays under maxPickleHeap. It stops at STOP, as the unpickler does.
func scanPickle(p []byte) error {
	var heap int64
	i := 0
	need := func(n uint64) error {
		if n > uint64(len(p)-i) {
			return fmt.Errorf("opcode at byte %d claims %d bytes, %d are left", i, n, len(p)-i)
		}
		return nil
	}
	line := func(limit int) error {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			return fmt.Errorf("opcode at byte %d: line argument without an end", i)
		}
		if j > limit {
			return fmt.Errorf("opcode at byte %d: line argument of %d bytes", i, j)
		}
		heap += 2 * int64(j)
		i += j + 1
		return nil
	}
	counted := func(lenBytes int, signed bool) error {
		if err := need(uint64(lenBytes)); err != nil {
			return err
		}
		var n uint64
		switch lenBytes {
		case 1:
			n = uint64(p[i])
		case 4:
			n = uint64(binary.LittleEndian.Uint32(p[i:]))
			if signed && int32(n) < 0 {
				return fmt.Errorf("opcode at byte %d has a negative length", i)
			}
		case 8:
			n = binary.LittleEndian.Uint64(p[i:])
		}
		i += lenBytes
		if err := need(n); err != nil {
			return err
		}
		heap += 2 * int64(n)
		i += int(n)
		return nil
	}
	for {
		if i >= len(p) {
			return errors.New("pickle ends without STOP")
		}
		op := p[i]
		i++
		heap += 64
		var err error
		switch op {
		case '.': // STOP
			return nil
		case '(': // MARK: gopickle makes a new stack
			heap += 384
		case '}', ']', '\x8f', '\x81', '\x92': // empty dict, list, set; NEWOBJ
			heap += 192
		case 'R': // REDUCE: may build an OrderedDict
			heap += 512
		case '0', '1', '2', 'N', 'a', 'b', 'd', 'e', 'l', 'o', 's', 't', ')', 'u',
			'\x85', '\x86', '\x87', '\x88', '\x89', '\x90', '\x91', '\x93', '\x94', '\x97', '\x98', 'Q':
		case 'K', 'h', 'q', '\x82':
			err = need(1)
			i++
		case '\x80': // PROTO
			if err = need(1); err == nil && p[i] > 5 {
				err = fmt.Errorf("pickle protocol %d", p[i])
			}
			i++
		case 'M', '\x83':
			err = need(2)
			i += 2
		case 'J', 'j', 'r', '\x84':
			err = need(4)
			i += 4
		case 'G':
			err = need(8)
			i += 8
		case '\x95': // FRAME: gopickle allocates the frame
			if err = need(8); err == nil {
				n := binary.LittleEndian.Uint64(p[i:])
				i += 8
				err = need(n)
				heap += int64(min(n, uint64(len(p))))
			}
		case 'F', 'I', 'P', 'S', 'V', 'g', 'p':
			err = line(maxPickleLine)
		case 'L': // LONG: big.Int from decimal text
			err = line(maxLongBytes)
		case 'c', 'i': // GLOBAL, INST: module and name lines
			if err = line(maxPickleLine); err == nil {
				err = line(maxPickleLine)
			}
		case 'T': // BINSTRING: signed 32-bit length
			err = counted(4, true)
		case 'X', 'B': // BINUNICODE, BINBYTES
			err = counted(4, false)
		case 'U', 'C', '\x8c': // short strings and bytes
			err = counted(1, false)
		case '\x8d', '\x8e', '\x96': // BINUNICODE8, BINBYTES8, BYTEARRAY8
			err = counted(8, false)
		case '\x8a', '\x8b': // LONG1, LONG4: gopickle panics on an empty one and is quadratic on a long one
			lenBytes := 1
			if op == '\x8b' {
				lenBytes = 4
			}
			if err = need(uint64(lenBytes)); err == nil {
				n := uint64(p[i])
				if lenBytes == 4 {
					n = uint64(binary.LittleEndian.Uint32(p[i:]))
				}
				if n == 0 || n > maxLongBytes {
					err = fmt.Errorf("opcode at byte %d: long of %d bytes", i-1, n)
				} else {
					err = counted(lenBytes, false)
				}
			}
		default:
			err = fmt.Errorf("unknown opcode 0x%02x at byte %d", op, i-1)
		}
		if err != nil {
			return err
		}
		if heap > maxPickleHeap {
			return fmt.Errorf("pickle would need more than %d MiB to unpickle", maxPickleHeap>>20)
		}
	}
}

// unpickle runs the pickle p with the allowlist, resolving persistent ids
// through persistentLoad. A panic inside gopickle (it has a few on
// malformed input that scanPickle does not foresee) becomes an error.
func unpickle(file string, p []byte, persistentLoad func(any) (any, error)) (result any, err error) {
	if err := scanPickle(p); err != nil {
		return nil, formatErr(file, "", "malformed pickle: %v", err)
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, formatErr(file, "", "malformed pickle: %v", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(p))
	u.FindClass = findClass(file)
	u.PersistentLoad = persistentLoad
	result, err = u.Load()
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			return nil, fe
		}
		return nil, formatErr(file, "", "malformed pickle: %v", err)
	}
	return result, nil
}
