package darknet

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Tree is a WordTree (Redmon & Farhadi 2016, YOLO9000, Sec. 4), as
// darknet's read_tree builds it from a file such as data/9k.tree: one node
// per line, "NAME PARENT", PARENT the index of an earlier line or −1 for a
// root. A group is a run of consecutive lines with the same parent: the
// hierarchical softmax normalises within each group.
type Tree struct {
	Names       []string
	Parent      []int  // −1 for a root
	Child       []int  // the group of a node's children, −1 for a leaf
	Group       []int  // the group a node belongs to
	Leaf        []bool // no node names it as parent
	GroupOffset []int  // group g is nodes GroupOffset[g] … GroupOffset[g]+GroupSize[g]−1
	GroupSize   []int
}

// Len returns the number of nodes (classes).
func (t *Tree) Len() int { return len(t.Names) }

// Groups returns the number of groups.
func (t *Tree) Groups() int { return len(t.GroupSize) }

// maxTreeNodes bounds a tree file (9k.tree has 9418 nodes).
const maxTreeNodes = 1 << 20

// ReadTree reads a WordTree file. Unlike darknet, which reads a missing
// parent as −1, each line must have a name and a parent that is −1 or the
// index of an earlier line.
func ReadTree(r io.Reader) (*Tree, error) {
	t := &Tree{}
	sc := bufio.NewScanner(r)
	lastParent := -1
	size := 0
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			return nil, formatErr("darknet: tree line %d: %q, want NAME PARENT", line, sc.Text())
		}
		n := len(t.Names)
		if n >= maxTreeNodes {
			return nil, formatErr("darknet: tree line %d: more than %d nodes", line, maxTreeNodes)
		}
		p, err := strconv.Atoi(f[1])
		if err != nil || p < -1 || p >= n {
			return nil, formatErr("darknet: tree line %d: parent %q is not -1 or an earlier line's index", line, f[1])
		}
		if p != lastParent {
			t.GroupOffset = append(t.GroupOffset, n-size)
			t.GroupSize = append(t.GroupSize, size)
			size = 0
			lastParent = p
		}
		t.Names = append(t.Names, f[0])
		t.Parent = append(t.Parent, p)
		t.Child = append(t.Child, -1)
		t.Group = append(t.Group, len(t.GroupSize))
		if p >= 0 {
			t.Child[p] = len(t.GroupSize)
		}
		size++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("darknet: tree line %d: %w", line+1, err)
	}
	if len(t.Names) == 0 {
		return nil, formatErr("darknet: tree: no nodes")
	}
	t.GroupOffset = append(t.GroupOffset, len(t.Names)-size)
	t.GroupSize = append(t.GroupSize, size)
	t.Leaf = make([]bool, len(t.Names))
	for i := range t.Leaf {
		t.Leaf[i] = true
	}
	for _, p := range t.Parent {
		if p >= 0 {
			t.Leaf[p] = false
		}
	}
	return t, nil
}
