//go:build linux

package wsclient

import "syscall"

// RaiseFileLimit lifts the soft limit on open files to the hard one: every
// connection is a file, and the soft limit is often 1024.
func RaiseFileLimit() (limit uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (Linux 4.2+), which the
// frozen syscall package does not name.
const ipBindAddressNoPort = 24

// bindNoPort lets a socket bound to a source address pick its port at
// connect time, per destination, instead of reserving one at bind time.
func bindNoPort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	// Old kernels lack the option; binding still works, with fewer ports.
	_ = serr
	return nil
}
