package darknet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Errors. Every error this package returns about a file's content wraps
// one of these; test with errors.Is.
var (
	// ErrFormat is the category of a malformed cfg or weights file: an
	// unknown section or key, a bad number, a route to a layer that does
	// not exist, a weights file of the wrong length.
	ErrFormat = errors.New("darknet: bad file")
	// ErrUnsupported is the category of a cfg that darknet would run but
	// this package does not: a recurrent section, an XNOR convolution.
	ErrUnsupported = errors.New("darknet: unsupported")
)

// formatError is an error about a file's content; it wraps ErrFormat
// without repeating its text.
type formatError struct{ msg string }

func (e *formatError) Error() string        { return e.msg }
func (e *formatError) Is(target error) bool { return target == ErrFormat }

func formatErr(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...)}
}

// Pos is where something was declared: a cfg file and a 1-based line.
type Pos struct {
	File string // the path or name the cfg was parsed from
	Line int
}

func (p Pos) String() string {
	if p.File == "" {
		return "line " + strconv.Itoa(p.Line)
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// ParseError is a cfg problem and its position. It wraps ErrFormat, or
// ErrUnsupported for a valid darknet construct this package cannot run.
type ParseError struct {
	Pos
	Section string // the section as written, "convolutional"; "" before any
	Key     string // the key concerned, "" for the section as a whole
	Msg     string // what is wrong, lower-case
	Err     error  // ErrFormat or ErrUnsupported
}

// Error reads "darknet: FILE:LINE: [SECTION] key KEY: MSG".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("darknet: ")
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Section != "" {
		b.WriteString("[" + e.Section + "] ")
	}
	if e.Key != "" {
		b.WriteString("key " + strconv.Quote(e.Key) + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrFormat or ErrUnsupported.
func (e *ParseError) Unwrap() error { return e.Err }

// option is one "key=value" line of a section.
type option struct {
	key, value string
	line       int
	used       bool
}

// section is one "[name]" block of a cfg file as read, before its keys are
// interpreted.
type section struct {
	file    string
	name    string // between the brackets, as written
	line    int
	options []option
	index   int // darknet's layer index (the [net] section is -1)
	err     *ParseError
}

func (s *section) pos(line int) Pos { return Pos{File: s.file, Line: line} }

// fail records the first error of s.
func (s *section) fail(err *ParseError) {
	if s.err == nil {
		s.err = err
	}
}

func (s *section) keyErr(o *option, format string, args ...any) {
	s.fail(&ParseError{Pos: s.pos(o.line), Section: s.name, Key: o.key, Msg: fmt.Sprintf(format, args...), Err: ErrFormat})
}

func (s *section) sectionErr(base error, format string, args ...any) {
	s.fail(&ParseError{Pos: s.pos(s.line), Section: s.name, Msg: fmt.Sprintf(format, args...), Err: base})
}

// find returns the option named key and marks it used, or nil. A key set
// twice (Debian's yolo9000.cfg sets batch twice) has its first value, as
// in darknet's option_find; the repeats count as read.
func (s *section) find(key string) *option {
	var first *option
	for i := range s.options {
		if s.options[i].key == key {
			s.options[i].used = true
			if first == nil {
				first = &s.options[i]
			}
		}
	}
	return first
}

// has reports whether key is present, without marking it used.
func (s *section) has(key string) bool {
	for i := range s.options {
		if s.options[i].key == key {
			return true
		}
	}
	return false
}

// maxCfgInt bounds every integer in a cfg: far above any real network's
// sizes, low enough that products of a few of them cannot overflow.
const maxCfgInt = 1 << 24

// Int returns the integer value of key, or def if it is absent (darknet's
// option_find_int and option_find_int_quiet, which differ only in what
// they print).
func (s *section) Int(key string, def int) int {
	o := s.find(key)
	if o == nil {
		return def
	}
	v, ok := parseInt(o.value)
	if !ok {
		s.keyErr(o, "bad integer %q", o.value)
		return def
	}
	return v
}

// Bool reads an integer flag: 0 is false, anything else true (darknet
// tests these as C ints).
func (s *section) Bool(key string, def bool) bool {
	d := 0
	if def {
		d = 1
	}
	return s.Int(key, d) != 0
}

// Float returns the value of key as a float32, or def.
func (s *section) Float(key string, def float32) float32 {
	o := s.find(key)
	if o == nil {
		return def
	}
	v, ok := parseFloat(o.value)
	if !ok {
		s.keyErr(o, "bad number %q", o.value)
		return def
	}
	return v
}

// String returns the value of key, or def.
func (s *section) String(key, def string) string {
	o := s.find(key)
	if o == nil {
		return def
	}
	if o.value == "" {
		s.keyErr(o, "empty value")
		return def
	}
	return o.value
}

// Ints returns a comma-separated list of integers, or nil if key is absent.
func (s *section) Ints(key string) []int {
	o := s.find(key)
	if o == nil {
		return nil
	}
	parts := strings.Split(o.value, ",")
	out := make([]int, len(parts))
	for i, p := range parts {
		v, ok := parseInt(p)
		if !ok {
			s.keyErr(o, "bad integer %q in list %q", p, o.value)
			return nil
		}
		out[i] = v
	}
	return out
}

// Floats returns a comma-separated list of numbers, or nil if key is
// absent.
func (s *section) Floats(key string) []float32 {
	o := s.find(key)
	if o == nil {
		return nil
	}
	parts := strings.Split(o.value, ",")
	out := make([]float32, len(parts))
	for i, p := range parts {
		v, ok := parseFloat(p)
		if !ok {
			s.keyErr(o, "bad number %q in list %q", p, o.value)
			return nil
		}
		out[i] = v
	}
	return out
}

// Activation reads an activation name.
func (s *section) Activation(key string, def Activation) Activation {
	o := s.find(key)
	if o == nil {
		return def
	}
	a, ok := activationByName[o.value]
	if !ok {
		s.keyErr(o, "unknown activation %q (darknet has %s)", o.value, activationList())
		return def
	}
	return a
}

// positive checks that v, the value of key, is at least lo; checks of
// values darknet would divide by or allocate with.
func (s *section) atLeast(key string, v, lo int) {
	if v < lo {
		line := s.line
		if o := s.findNoMark(key); o != nil {
			line = o.line
		}
		s.fail(&ParseError{Pos: s.pos(line), Section: s.name, Key: key,
			Msg: fmt.Sprintf("%d, want at least %d", v, lo), Err: ErrFormat})
	}
}

func (s *section) findNoMark(key string) *option {
	for i := range s.options {
		if s.options[i].key == key {
			return &s.options[i]
		}
	}
	return nil
}

// parseInt accepts an optionally signed decimal integer within ±maxCfgInt,
// where darknet's atoi would take any prefix of digits.
func parseInt(s string) (int, bool) {
	v, err := strconv.Atoi(s)
	if err != nil || v > maxCfgInt || v < -maxCfgInt {
		return 0, false
	}
	return v, true
}

// parseFloat accepts a finite decimal number ("0.5", ".5", "5.", "1e-3"),
// where darknet's atof would take any numeric prefix. Hexadecimal floats,
// infinities and NaN are refused.
func parseFloat(s string) (float32, bool) {
	if s == "" {
		return 0, false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return 0, false
	}
	return float32(v), true
}

// strip removes every space, tab, carriage return and newline from line,
// as darknet's strip does (it also joins "a = 1, 2" into "a=1,2"); darknet
// leaves carriage returns, which break Windows-edited files in it.
func strip(line string) string {
	if !strings.ContainsAny(line, " \t\r\n") {
		return line
	}
	var b strings.Builder
	b.Grow(len(line))
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case ' ', '\t', '\r', '\n':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// maxCfgLine bounds a cfg line (darknet's fgetl has no limit; the longest
// line of Debian's cfgs is under 200 bytes).
const maxCfgLine = 1 << 20

// readSections splits a cfg into sections as darknet's read_cfg does:
// lines are stripped of whitespace; empty lines and lines starting with
// '#' or ';' are skipped; "[name]" starts a section; anything else must be
// "key=value" inside a section. Unlike darknet, a line that is not
// "key=value" and a key before any section are errors.
func readSections(file string, r io.Reader) ([]*section, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxCfgLine)
	var secs []*section
	var cur *section
	line := 0
	for sc.Scan() {
		line++
		text := strip(sc.Text())
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		if text[0] == '[' {
			if text[len(text)-1] != ']' || len(text) < 3 {
				return nil, &ParseError{Pos: Pos{file, line}, Msg: fmt.Sprintf("bad section header %q", text), Err: ErrFormat}
			}
			cur = &section{file: file, name: text[1 : len(text)-1], line: line}
			secs = append(secs, cur)
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		switch {
		case !ok || key == "":
			return nil, &ParseError{Pos: Pos{file, line}, Msg: fmt.Sprintf("%q is neither [section] nor key=value", text), Err: ErrFormat}
		case cur == nil:
			return nil, &ParseError{Pos: Pos{file, line}, Key: key, Msg: "key before the first section", Err: ErrFormat}
		}
		cur.options = append(cur.options, option{key: key, value: value, line: line})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ParseError{Pos: Pos{file, line + 1}, Msg: fmt.Sprintf("line longer than %d bytes", maxCfgLine), Err: ErrFormat}
		}
		return nil, fmt.Errorf("darknet: %s: %w", file, err)
	}
	return secs, nil
}

// ParseFile reads a darknet cfg file. See Parse.
func ParseFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("darknet: %w", err)
	}
	return Parse(path, bytes.NewReader(b))
}

// Parse reads a darknet cfg from r; name (a path, or any label) is used in
// error messages and to resolve relative file names the cfg mentions
// (tree=, map=) when the network is built.
//
// The first section must be [net] (or [network]); each further section is
// a layer. Every section and key darknet (pjreddie/darknet, 2018) reads
// for the sections this package runs is accepted, including those that
// only matter for training (learning_rate, jitter, ignore_thresh, …), which
// are stored. An unknown section or key, a value that is
// not a number where darknet reads one, or a route or shortcut to a layer
// that is not before it is a *ParseError naming the file, line and key. A
// key given twice has its first value, as in darknet (Debian's
// yolo9000.cfg sets batch twice).
// Sections darknet has but this package does not run ([rnn], [gru],
// [deconvolutional], …) are errors wrapping ErrUnsupported.
func Parse(name string, r io.Reader) (*Config, error) {
	secs, err := readSections(name, r)
	if err != nil {
		return nil, err
	}
	if len(secs) == 0 {
		return nil, &ParseError{Pos: Pos{name, 1}, Msg: "no sections; the first must be [net]", Err: ErrFormat}
	}
	if k := canonical(secs[0].name); k != "net" {
		return nil, &ParseError{Pos: secs[0].pos(secs[0].line), Section: secs[0].name,
			Msg: "the first section must be [net] or [network]", Err: ErrFormat}
	}
	cfg := &Config{File: name}
	secs[0].index = -1
	cfg.Net = parseNet(secs[0])
	if err := finish(secs[0]); err != nil {
		return nil, err
	}
	for i, s := range secs[1:] {
		s.index = i
		kind := canonical(s.name)
		parse, ok := parsers[kind]
		if !ok {
			msg := "unknown section"
			base := ErrFormat
			switch {
			case kind == "net":
				msg = "a second [net] section"
			case unsupported[s.name]:
				msg = "darknet's, but not supported by this package"
				base = ErrUnsupported
			}
			return nil, &ParseError{Pos: s.pos(s.line), Section: s.name, Msg: msg, Err: base}
		}
		l := parse(s)
		h := l.Info()
		h.Pos = s.pos(s.line)
		h.Kind = kind
		h.Name = s.name
		h.Index = i
		h.Common = parseCommon(s)
		if err := finish(s); err != nil {
			return nil, err
		}
		cfg.Layers = append(cfg.Layers, l)
	}
	return cfg, nil
}

// finish returns s's first error, or an error for its first key no parse
// function read.
func finish(s *section) error {
	if s.err != nil {
		return s.err
	}
	for _, o := range s.options {
		if !o.used {
			return &ParseError{Pos: s.pos(o.line), Section: s.name, Key: o.key, Msg: "unknown key", Err: ErrFormat}
		}
	}
	return nil
}

// aliases maps darknet's alternative section names to the canonical ones
// (parser.c: string_to_layer_type).
var aliases = map[string]string{
	"network": "net",
	"conv":    "convolutional",
	"conn":    "connected",
	"max":     "maxpool",
	"avg":     "avgpool",
	"soft":    "softmax",
}

// unsupported lists the sections darknet knows that this package does not
// run.
var unsupported = map[string]bool{
	"deconv": true, "deconvolutional": true, "activation": true, "logistic": true,
	"l2norm": true, "crnn": true, "gru": true, "lstm": true, "rnn": true,
	"lrn": true, "normalization": true, "batchnorm": true, "iseg": true,
}

func canonical(name string) string {
	if c, ok := aliases[name]; ok {
		return c
	}
	return name
}
