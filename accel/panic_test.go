package accel

import (
	"fmt"
	"strings"
	"testing"
)

// panicCase is a call that must panic with a documented message (see the
// package doc).
type panicCase struct {
	name string
	call func()
	want string
}

// exactly and startsWith say how a panic message must match panicCase.want.
var (
	exactly    = func(msg, want string) bool { return msg == want }
	startsWith = strings.HasPrefix
)

// checkPanics runs each case and fails unless it panics with a message
// that matches its want.
func checkPanics(t *testing.T, cases []panicCase, match func(msg, want string) bool) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !match(fmt.Sprint(r), tc.want) {
					t.Errorf("panic %v, want %q", r, tc.want)
				}
			}()
			tc.call()
		})
	}
}
