//go:build linux

package wsclient

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A poller reads many connections from one epoll loop. Go's own network
// poller parks a goroutine per socket; each frame then costs a wake-up of
// that goroutine and two reads (the frame, and the EAGAIN before it parks
// again). Here a frame costs one read, and one epoll_wait serves many
// sockets. The engine runs a poller per CPU; each connection stays on one.
//
// A connection's descriptor is taken from Go (dup'd, and the net.Conn
// closed) once the upgrade is done. Only its poller closes it, in
// conn.finish; a cut (a deadline, the tool closing) only shuts the socket
// down, which the poller then reads as the end.
type poller struct {
	epfd  int
	stop  atomic.Bool
	mu    sync.Mutex
	conns map[int32]*conn
}

// pollWait is how long epoll_wait sleeps before looking at stop.
const pollWait = 200 // ms

// newPollers starts one poller per CPU (at most four), or returns nil if
// epoll is unavailable (the engine then reads with goroutines).
func newPollers() []*poller {
	var ps []*poller
	for range min(runtime.GOMAXPROCS(0), 4) {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			for _, p := range ps {
				p.stop.Store(true)
			}
			return nil
		}
		p := &poller{epfd: fd, conns: make(map[int32]*conn)}
		ps = append(ps, p)
		go p.run()
	}
	return ps
}

// stopPollers makes the pollers end every connection still on them and exit.
func stopPollers(ps []*poller) {
	for _, p := range ps {
		p.stop.Store(true)
	}
}

func (p *poller) run() {
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.EpollWait(p.epfd, events, pollWait)
		if err != nil && err != syscall.EINTR {
			break
		}
		if p.stop.Load() {
			break
		}
		for _, ev := range events[:max(n, 0)] {
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c != nil {
				c.readable(ev.Fd, buf)
			}
		}
	}
	p.mu.Lock()
	left := make([]*conn, 0, len(p.conns))
	for _, c := range p.conns {
		left = append(left, c)
	}
	p.mu.Unlock()
	for _, c := range left {
		c.finish(errDropped)
	}
	_ = syscall.Close(p.epfd)
}

// readable reads what fd has (one read: epoll is level-triggered, so what
// did not fit is reported again).
func (c *conn) readable(fd int32, buf []byte) {
	n, err := syscall.Read(int(fd), buf)
	switch {
	case n > 0:
		if ferr := c.feed(buf[:n]); ferr != nil {
			c.finish(ferr)
		}
	case err == syscall.EAGAIN || err == syscall.EINTR:
	case err == nil: // EOF
		c.finish(errDropped)
	default:
		c.finish(err)
	}
}

// fdSock is a connection owned by a poller.
type fdSock struct {
	p      *poller
	mu     sync.Mutex // one writer at a time; guards fd against release
	fd     int
	closed bool
}

// takeSock moves an upgraded connection to one of the engine's pollers. It
// returns nil, leaving nc as it was, when nc cannot be read that way (TLS,
// no pollers); the caller then reads nc with a goroutine.
func (e *Engine) takeSock(c *conn, nc net.Conn) sock {
	tc, ok := nc.(*net.TCPConn)
	if !ok || len(e.pollers) == 0 {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	fd := -1
	_ = rc.Control(func(s uintptr) {
		fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	})
	if err != nil || fd < 0 {
		return nil
	}
	// The duplicate shares the file's O_NONBLOCK; set it anyway.
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil
	}
	_ = nc.Close() // the duplicate keeps the socket open
	return &fdSock{p: e.pollers[c.g%len(e.pollers)], fd: fd}
}

// watch starts reading the socket on its poller; false if it cannot.
func (s *fdSock) watch(c *conn) bool {
	p := s.p
	p.mu.Lock()
	if p.stop.Load() {
		p.mu.Unlock()
		return false
	}
	p.conns[int32(s.fd)] = c
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(s.fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.conns, int32(s.fd))
		p.mu.Unlock()
		return false
	}
	return true
}

func (s *fdSock) write(b []byte, block bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	deadline := time.Time{}
	sent := false
	for len(b) > 0 {
		n, err := syscall.Write(s.fd, b)
		if n > 0 {
			b, sent = b[n:], true
			continue
		}
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
		default:
			return err
		}
		if !block && !sent {
			return errWouldBlock
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(writeTimeout)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return &timeoutError{"write: timeout"}
		}
		fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLOUT}}
		if _, err := unix.Poll(fds, int(wait/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return err
		}
	}
	return nil
}

func (s *fdSock) cut() {
	s.mu.Lock()
	if !s.closed {
		_ = syscall.Shutdown(s.fd, syscall.SHUT_RDWR)
	}
	s.mu.Unlock()
}

func (s *fdSock) release() {
	p := s.p
	// Before the close: until then no other connection can have this fd.
	p.mu.Lock()
	delete(p.conns, int32(s.fd))
	p.mu.Unlock()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
		_ = syscall.Close(s.fd)
	}
	s.mu.Unlock()
}
