package scenario

import (
	"strings"
	"testing"
)

func TestSweepArgv(t *testing.T) {
	o := &Options{ServerCmd: "readtag --addr={addr} --posts /tmp/p", Buffers: "default"}
	got, err := o.SweepArgv("127.0.0.1:4242")
	if err != nil || strings.Join(got, " ") != "readtag --addr=127.0.0.1:4242 --posts /tmp/p" {
		t.Fatalf("SweepArgv = %q, %v", got, err)
	}
	o.ServerCmd = "bare"
	o.Buffers = "trimmed"
	got, err = o.SweepArgv("127.0.0.1:4242")
	if err != nil || !strings.Contains(strings.Join(got, " "), "bare-server --addr 127.0.0.1:4242 --buffers trimmed --exit-on-eof") {
		t.Fatalf("SweepArgv(bare) = %q, %v", got, err)
	}
	o.SharedPinger = true
	if got, _ = o.SweepArgv("127.0.0.1:4242"); got[len(got)-1] != "--shared-pinger" {
		t.Fatalf("SweepArgv(bare, shared pinger) = %q", got)
	}
}
