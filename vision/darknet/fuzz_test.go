package darknet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text to the cfg parser and, when it parses,
// to Build: neither may panic, every error must be positioned (or, from
// Build, wrap ErrFormat or ErrUnsupported), and a network that builds
// must run.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"yolov3-tiny", "yolov2", "local-mini", "resnet18-mini", "vgg-16-mini", "misc-mini", "region-mini"} {
		b, err := os.ReadFile(filepath.Join(goldenDir, name+".cfg"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(smallCfg))
	f.Add([]byte("[net]\nwidth=4\nheight=4\nchannels=1\n[reorg]\nstride=2\nreverse=1\n[upsample]\nstride=-2\n[shortcut]\nfrom=0\n"))
	f.Add([]byte("[net]\nwidth=5\nheight=3\nchannels=2\n[maxpool]\nsize=1\nstride=2\npadding=9\n[local]\nsize=4\npad=1\nstride=2\n"))
	f.Add([]byte("[net]\nwidth=6\nheight=4\nchannels=4\n[route]\nlayers=-1\n[crop]\ncrop_width=3\ncrop_height=2\n[avgpool]\n[softmax]\ngroups=2\n[cost]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse("fuzz.cfg", bytes.NewReader(b))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "fuzz.cfg:") {
				t.Fatalf("unpositioned error %v", err)
			}
			return
		}
		// Keep the work bounded: skip networks with large inputs.
		if cfg.Net.Width*cfg.Net.Height*cfg.Net.Channels > 1<<12 {
			return
		}
		n, err := build(cfg, []Option{func(o *options) { o.noInit, o.maxWeights = true, 1<<16 }})
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("build error %v wraps neither ErrFormat nor ErrUnsupported", err)
			}
			return
		}
		for _, i := range n.Outputs() {
			s := n.Shape(i)
			if s[0]*s[1]*s[2] > 1<<16 {
				return
			}
		}
		for _, nd := range n.nodes {
			if s := nd.out(); s.len() > 1<<16 {
				return
			}
		}
		n.Refresh()
		if _, err := n.Forward(newTensor(t, []int{1, n.Channels, n.Height, n.Width}, 0.5)); err != nil {
			t.Fatalf("forward: %v", err)
		}
	})
}

// FuzzLoadWeights feeds arbitrary bytes as a weights file for a small
// network: loading may fail, with ErrFormat, but never panic.
func FuzzLoadWeights(f *testing.F) {
	f.Add(weightsFile(0, 2, smallWeights))
	f.Add(weightsFile(0, 1, smallWeights))
	f.Add(weightsFile(1001, 0, smallWeights))
	f.Add(weightsFile(0, 2, 3))
	f.Add([]byte{1, 2, 3})
	n := smallNet(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHeader(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("header error %v does not wrap ErrFormat", err)
			}
			return
		}
		err = n.LoadWeights(bytes.NewReader(b))
		ok := int64(len(b)) == int64(h.Size())+4*n.WeightsLen()
		if ok != (err == nil) {
			t.Fatalf("%d bytes (header %d): err %v", len(b), h.Size(), err)
		}
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v does not wrap ErrFormat", err)
		}
	})
}

// FuzzReadTree feeds arbitrary text as a WordTree file.
func FuzzReadTree(f *testing.F) {
	f.Add([]byte("a -1\nb -1\nc 0\nd 0\ne 1\n"))
	f.Add([]byte("a 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ReadTree(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrFormat) && !strings.Contains(err.Error(), "token too long") {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		sum := 0
		for g, size := range tr.GroupSize {
			if tr.GroupOffset[g] != sum {
				t.Fatalf("group %d at %d, want %d", g, tr.GroupOffset[g], sum)
			}
			sum += size
		}
		if sum != tr.Len() {
			t.Fatalf("groups cover %d of %d nodes", sum, tr.Len())
		}
	})
}
