package measure

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
)

// Answer is one JSON line a peer writes; Failure is the error the peer
// reported in it, "" if none.
type Answer interface{ Failure() string }

// Peer is a reference implementation running in a subprocess that answers
// each command line on its standard input with one JSON line, so that
// neither its start-up nor its imports are timed and govision and the peer
// are measured in the same period. The harnesses' Python peers
// (pytorch_peer.py, opencv_peer.py) speak this protocol and quit on "quit".
type Peer struct {
	name   string // for errors: "bottleneck: pytorch_peer.py"
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *LockedBuffer
}

// StartPeer starts cmd (its Stdin, Stdout and Stderr must be unset) and
// reads its first answer, a description of itself, into info. name
// prefixes every error. On a failed first answer the peer is stopped.
func StartPeer(cmd *exec.Cmd, name string, info Answer) (*Peer, error) {
	p := &Peer{name: name, cmd: cmd, stderr: &LockedBuffer{}}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.stdout = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %s: %v", name, cmd.Path, err)
	}
	if err := p.Read(info); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Read decodes the peer's next answer into v.
func (p *Peer) Read(v Answer) error {
	line, err := p.stdout.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("%s stopped (%v): %s", p.name, err, LastLine(p.stderr.String()))
	}
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("%s: bad answer %q: %v", p.name, bytes.TrimSpace(line), err)
	}
	if e := v.Failure(); e != "" {
		return fmt.Errorf("%s: %s", p.name, e)
	}
	return nil
}

// Send writes one command line.
func (p *Peer) Send(format string, args ...any) error {
	if _, err := fmt.Fprintf(p.stdin, format+"\n", args...); err != nil {
		return fmt.Errorf("%s: %v: %s", p.name, err, LastLine(p.stderr.String()))
	}
	return nil
}

// Do sends one command line and decodes the answer into v.
func (p *Peer) Do(v Answer, format string, args ...any) error {
	if err := p.Send(format, args...); err != nil {
		return err
	}
	return p.Read(v)
}

// Close asks the peer to quit and waits for it.
func (p *Peer) Close() error {
	fmt.Fprintln(p.stdin, "quit")
	p.stdin.Close()
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("%s: %v: %s", p.name, err, LastLine(p.stderr.String()))
	}
	return nil
}
