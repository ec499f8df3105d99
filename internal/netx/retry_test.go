package netx

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// failing returns the queued errors from Accept, then accepts for real.
type failing struct {
	net.Listener
	errs []error
}

func (f *failing) Accept() (net.Conn, error) {
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return f.Listener.Accept()
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRetryListenerSurvivesTemporaryErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accept := func(errno error) error {
		return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
	}
	var errs []error
	for range 12 {
		errs = append(errs, accept(syscall.EMFILE))
	}
	errs = append(errs, accept(syscall.ENFILE), accept(syscall.ECONNABORTED), accept(syscall.ENOBUFS),
		accept(syscall.ENOMEM), timeoutErr{})
	var logs bytes.Buffer
	l := Retry(&failing{Listener: ln, errs: errs}, "http", slog.New(slog.NewTextHandler(&logs, nil)))
	var slept []time.Duration
	l.sleep = func(d time.Duration) { slept = append(slept, d) }

	// The kernel completes the handshake; Accept picks it up after the errors.
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept returned %v, want a connection after the temporary errors", err)
	}
	c.Close()
	if len(slept) != 17 || slept[0] != 5*time.Millisecond || slept[1] != 10*time.Millisecond || slept[16] != time.Second {
		t.Errorf("back-off %v, want 5ms doubling to 1s", slept)
	}
	out := logs.String()
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d log lines, want 2 (start and end of the episode):\n%s", n, out)
	}
	if !strings.Contains(out, "too many open files") || !strings.Contains(out, "failed_accepts=17") {
		t.Errorf("log lacks the cause or the count:\n%s", out)
	}
}

func TestRetryListenerReturnsPermanentErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Retry(ln, "http", slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	ln.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a closed listener: %v, want net.ErrClosed", err)
	}
	for _, err := range []error{net.ErrClosed, fmt.Errorf("accept: %w", syscall.EINVAL), errors.New("boom")} {
		if Temporary(err) {
			t.Errorf("%v counted as temporary", err)
		}
	}
}
