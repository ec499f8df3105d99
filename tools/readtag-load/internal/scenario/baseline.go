package scenario

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// baselineChild is the baseline server running as a child process, so that
// its CPU and memory can be measured apart from the load generator's.
type baselineChild struct {
	URL   string
	PID   int
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

func startBaselineChild(stderr io.Writer) (*baselineChild, error) {
	cmd, stdin, stdout, err := startSelf(stderr, "baseline: ", "baseline-server", "--addr", "127.0.0.1:0", "--exit-on-eof")
	if err != nil {
		return nil, err
	}
	bc := &baselineChild{PID: cmd.Process.Pid, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_ = cmd.Wait()
		close(bc.done)
	}()
	select {
	case line := <-lines:
		i := strings.Index(line, "http://")
		if i < 0 {
			bc.stop()
			return nil, fmt.Errorf("baseline server said %q", line)
		}
		bc.URL = strings.TrimSpace(line[i:])
		return bc, nil
	case <-bc.done:
		return nil, errors.New("baseline server exited at start")
	case <-time.After(10 * time.Second):
		bc.stop()
		return nil, errors.New("baseline server did not start within 10s")
	}
}

// stop closes the child's stdin (its signal to shut down) and waits, then
// kills it if it is still there.
func (bc *baselineChild) stop() {
	_ = bc.stdin.Close()
	select {
	case <-bc.done:
	case <-time.After(6 * time.Second):
		_ = bc.cmd.Process.Kill()
		<-bc.done
	}
}
