//go:build !linux

package wsclient

import "net"

// Without epoll every connection is read by a goroutine (netSock).

type poller struct{}

func newPollers() []*poller                          { return nil }
func stopPollers(ps []*poller)                       {}
func (e *Engine) takeSock(c *conn, nc net.Conn) sock { return nil }

// fdSock is Linux's (sock_linux.go); takeSock never returns one here.
type fdSock struct{ netSock }

func (s *fdSock) watch(c *conn) bool { return false }
