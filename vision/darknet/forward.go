package darknet

import (
	"fmt"

	"govision.dev/vision/tensor"
)

// plan says when each layer's output can go back to the scratch pool: the
// outputs are pooled tensors (tensor.Get), released after their last
// reader, so that a forward pass reuses the same buffers call after call.
// It also says which layers may overwrite their input instead of writing
// a new tensor.
type plan struct {
	// owner[i] is the layer whose tensor layer i's output is: i itself,
	// or for a layer that passes its input through (dropout, a route of
	// one layer) or changes it in place, its input's owner; -1 for the
	// network's input.
	owner []int
	// release[i] lists the owners whose tensors are free after layer i.
	release [][]int
	// inPlace[i] says that layer i, an updater, changes its first input
	// in place: no later layer reads that input, it is not the network's
	// input, and no output of the network is it.
	inPlace []bool
}

// updater is implemented by the layers whose output is their first input
// changed value by value (shortcut, yolo, region, detection): forward runs
// update on a copy, and Forward runs it on the input itself when the plan
// allows.
type updater interface {
	update(y *tensor.Tensor, xs []*tensor.Tensor, nb int)
}

// makePlan plans a forward pass over nodes, changing tensors in place
// where that is safe if inPlace is set.
func makePlan(nodes []node, outputs []int, inPlace bool) plan {
	p := plan{inPlace: make([]bool, len(nodes)), release: make([][]int, len(nodes))}
	// First without changes in place: whether layer i may change its
	// input's tensor in place depends on that tensor's readers, which
	// changes in place do not alter (a later reader of i's output reads
	// i's tensor either way, not the input's).
	owner, last := owners(nodes, p.inPlace)
	keep := kept(owner, outputs)
	for i, nd := range nodes {
		if _, ok := nd.(updater); !ok || !inPlace {
			continue
		}
		ins := nd.in()
		if ins[0] < 0 {
			continue
		}
		o := owner[ins[0]]
		if o < 0 || last[o] != i || keep[o] {
			continue
		}
		// Nor may its other inputs be that tensor (a shortcut from the
		// layer it adds to).
		p.inPlace[i] = true
		for _, j := range ins[1:] {
			if j >= 0 && owner[j] == o {
				p.inPlace[i] = false
			}
		}
	}
	p.owner, last = owners(nodes, p.inPlace)
	keep = kept(p.owner, outputs)
	for o, i := range last {
		if p.owner[o] == o && !keep[o] {
			p.release[i] = append(p.release[i], o)
		}
	}
	return p
}

// owners returns each layer's owner (see plan) and, for each owner, the
// last layer that reads its tensor.
func owners(nodes []node, inPlace []bool) (owner, last []int) {
	owner, last = make([]int, len(nodes)), make([]int, len(nodes))
	ownerOf := func(j int) int {
		if j < 0 {
			return -1
		}
		return owner[j]
	}
	for i, nd := range nodes {
		owner[i], last[i] = i, i
		if a, ok := nd.(aliasing); ok && a.aliases() || inPlace[i] {
			owner[i] = ownerOf(nd.in()[0])
		}
		for _, j := range nd.in() {
			if o := ownerOf(j); o >= 0 {
				last[o] = max(last[o], i)
			}
		}
		if o := owner[i]; o >= 0 {
			last[o] = max(last[o], i)
		}
	}
	return owner, last
}

// kept returns the owners of the network's outputs, whose tensors Forward
// returns.
func kept(owner, outputs []int) map[int]bool {
	keep := map[int]bool{}
	for _, i := range outputs {
		if o := owner[i]; o >= 0 {
			keep[o] = true
		}
	}
	return keep
}

// Forward runs the network on x, [N, Channels, Height, Width] (for a
// detector, an image letterboxed as darknet does: imageio.Letterbox), and
// returns the outputs of the layers Outputs lists, as darknet's forward
// pass leaves them (network_predict, test mode):
//
//   - a yolo layer: [N, A·(5+C), H, W], anchor a's channels a·(5+C) + e
//     for the entries e = x, y, w, h, objectness, class scores; the
//     logistic applied to x, y, the objectness and the class scores, w and
//     h left raw;
//   - a region layer: [N, A·(coords+1+C), H, W], the logistic on x, y and
//     the objectness and a softmax over each anchor's classes (with a
//     WordTree, over each sibling group; see regionNode);
//   - a detection layer: darknet's flat layout [N, side²·((1+coords)·num
//   - classes), 1, 1] (see detectionNode);
//   - a classifier's last layer (not a [cost]) as is, e.g. a softmax
//     [N, classes, 1, 1].
//
// The outputs are new tensors from the scratch pool: the caller may
// Release them when done. A wrongly shaped x is an error wrapping
// tensor.ErrShape. Forward is safe for concurrent use.
func (n *Net) Forward(x *tensor.Tensor) ([]*tensor.Tensor, error) {
	if x == nil {
		return nil, fmt.Errorf("darknet: Forward: nil input: %w", tensor.ErrShape)
	}
	s := x.Shape()
	if len(s) != 4 || s[0] < 1 || s[1] != n.Channels || s[2] != n.Height || s[3] != n.Width {
		return nil, fmt.Errorf("darknet: Forward: input %v, want [N, %d, %d, %d]: %w",
			s, n.Channels, n.Height, n.Width, tensor.ErrShape)
	}
	nb := s[0]
	outs := make([]*tensor.Tensor, len(n.nodes))
	done := false
	defer func() {
		if done {
			return
		}
		// On an error, give back what is still held.
		for i, t := range outs {
			if t != nil && n.plan.owner[i] == i {
				t.Release()
			}
		}
	}()
	var xs []*tensor.Tensor
	for i, nd := range n.nodes {
		xs = xs[:0]
		for _, j := range nd.in() {
			if j < 0 {
				xs = append(xs, x)
			} else {
				xs = append(xs, outs[j])
			}
		}
		var y *tensor.Tensor
		if n.plan.inPlace[i] {
			y = xs[0]
			nd.(updater).update(y, xs, nb)
		} else {
			var err error
			if y, err = nd.forward(xs, nb); err != nil {
				return nil, fmt.Errorf("darknet: %s: %w", kindOf(n.Config.Layers[i]), err)
			}
		}
		outs[i] = y
		for _, o := range n.plan.release[i] {
			outs[o].Release()
			for j := range outs[:i+1] {
				if n.plan.owner[j] == o {
					outs[j] = nil
				}
			}
		}
	}
	res := make([]*tensor.Tensor, len(n.outputs))
	for k, i := range n.outputs {
		res[k] = outs[i]
		if n.plan.owner[i] < 0 {
			res[k] = x.Clone() // an output that is the input itself
		}
	}
	done = true
	return res, nil
}
