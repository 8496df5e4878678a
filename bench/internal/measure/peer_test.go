package measure

import (
	"os/exec"
	"strings"
	"testing"
)

type testAnswer struct {
	Error string `json:"error"`
	Got   string `json:"got"`
}

func (a *testAnswer) Failure() string { return a.Error }

// TestPeer drives a shell peer speaking the protocol: a description line,
// one JSON answer per command, an error answer, and quit.
func TestPeer(t *testing.T) {
	script := `echo '{"got":"hello"}'
while read cmd arg; do
  case $cmd in
    quit) exit 0 ;;
    fail) echo '{"error":"boom"}' ;;
    *) echo "{\"got\":\"$arg\"}" ;;
  esac
done`
	var info testAnswer
	p, err := StartPeer(exec.Command("sh", "-c", script), "test: peer", &info)
	if err != nil {
		t.Fatal(err)
	}
	if info.Got != "hello" {
		t.Fatalf("description %+v", info)
	}
	var a testAnswer
	if err := p.Do(&a, "echo %s", "x1"); err != nil || a.Got != "x1" {
		t.Fatalf("Do: %+v, %v", a, err)
	}
	if err := p.Do(&a, "fail"); err == nil || !strings.Contains(err.Error(), "test: peer: boom") {
		t.Fatalf("a failed answer gave %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := StartPeer(exec.Command("sh", "-c", "echo not json"), "test: peer", &info); err == nil || !strings.Contains(err.Error(), "bad answer") {
		t.Fatalf("a bad description gave %v", err)
	}
}
