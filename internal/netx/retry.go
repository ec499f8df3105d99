// Package netx holds listener helpers shared by readtag's HTTP and cluster
// ports.
package netx

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Back-off between failed accepts, as net/http's Server.Serve does.
const (
	minDelay = 5 * time.Millisecond
	maxDelay = time.Second
)

// RetryListener is a net.Listener whose Accept survives temporary errors:
// running out of file descriptors (EMFILE, ENFILE), of buffers (ENOBUFS,
// ENOMEM), a connection aborted before it was accepted (ECONNABORTED), and
// timeouts. It waits 5 ms, doubling up to 1 s, and tries again, where
// fasthttp's Serve would return and end the process. Each episode is logged
// twice: when it starts and, with how many accepts failed, when it ends.
type RetryListener struct {
	net.Listener
	Log  *slog.Logger // zero value means slog.Default()
	Name string       // which port, for the log ("http", "cluster", ...)

	// sleep is time.Sleep; tests shorten it.
	sleep func(time.Duration)

	mu       sync.Mutex // one Accept at a time counts an episode
	failures int
	first    time.Time
	lastErr  error
}

// Retry wraps ln.
func Retry(ln net.Listener, name string, log *slog.Logger) *RetryListener {
	return &RetryListener{Listener: ln, Name: name, Log: log}
}

// Accept returns the next connection, retrying temporary errors; it returns
// only a connection or a permanent error (such as the listener being closed).
func (l *RetryListener) Accept() (net.Conn, error) {
	delay := time.Duration(0)
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			l.recovered()
			return c, nil
		}
		if !Temporary(err) {
			return nil, err
		}
		l.failed(err)
		if delay == 0 {
			delay = minDelay
		} else {
			delay = min(2*delay, maxDelay)
		}
		if l.sleep != nil {
			l.sleep(delay)
		} else {
			time.Sleep(delay)
		}
	}
}

func (l *RetryListener) logger() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

func (l *RetryListener) failed(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures++
	l.lastErr = err
	if l.failures == 1 {
		l.first = time.Now()
		l.logger().Warn("accept failing, retrying with back-off", "listener", l.Name,
			"addr", l.Addr().String(), "err", err.Error())
	}
}

func (l *RetryListener) recovered() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == 0 {
		return
	}
	l.logger().Warn("accept recovered", "listener", l.Name, "addr", l.Addr().String(),
		"failed_accepts", l.failures, "for", time.Since(l.first).Round(time.Millisecond).String(),
		"last_err", l.lastErr.Error())
	l.failures, l.lastErr = 0, nil
}

// Temporary reports whether an Accept error is worth retrying.
func Temporary(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED,
		syscall.ENOBUFS, syscall.ENOMEM, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
