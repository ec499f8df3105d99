package wsclient

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// sock is the write side of an upgraded connection and the way to end it.
// Its read side is either the engine's epoll loop (fdSock, Linux) or a
// goroutine of its own (netSock); either feeds conn.feed and, once, calls
// conn.finish.
type sock interface {
	// write sends b whole, or fails. With block false a socket whose read
	// side serves others (fdSock) fails with errWouldBlock rather than wait
	// for room in the socket's buffer (unless part of b is already out:
	// then it waits as block would); netSock always waits.
	write(b []byte, block bool) error
	// cut ends the connection without a goodbye; the read side then sees
	// it end. It may be called any number of times, from any goroutine.
	cut()
	// release frees the socket; only the read side calls it, once, last.
	release()
}

// netSock is a connection read by a goroutine of its own: an https target,
// a system without epoll, or a socket whose descriptor could not be taken.
type netSock struct {
	nc net.Conn
	mu sync.Mutex // one writer at a time
}

// write always waits (up to writeTimeout): the goroutine that reads this
// socket serves no other, so a pong may wait, and a write cut short by a
// deadline would leave half a frame on the wire.
func (s *netSock) write(b []byte, _ bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := s.nc.Write(b)
	return err
}

func (s *netSock) cut()     { _ = s.nc.Close() }
func (s *netSock) release() { _ = s.nc.Close() }

// readNet is netSock's read side.
func (c *conn) readNet(nc net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := nc.Read(buf)
		if n > 0 {
			if ferr := c.feed(buf[:n]); ferr != nil {
				c.finish(ferr)
				return
			}
		}
		if err != nil {
			c.finish(readErr(err))
			return
		}
	}
}

// readErr names a failed read.
func readErr(err error) error {
	if err == nil {
		return errDropped
	}
	var ne net.Error
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || (errors.As(err, &ne) && ne.Timeout()) {
		return errDropped
	}
	return err
}
