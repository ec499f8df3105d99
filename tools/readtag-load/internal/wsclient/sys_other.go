//go:build !linux

package wsclient

import (
	"errors"
	"syscall"
)

// RaiseFileLimit is Linux-only; elsewhere the limit stays as it is.
func RaiseFileLimit() (uint64, error) {
	return 0, errors.New("raising the open-file limit is only supported on Linux")
}

// bindNoPort does nothing outside Linux.
func bindNoPort(network, address string, c syscall.RawConn) error { return nil }
