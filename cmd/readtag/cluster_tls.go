package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"runtime"

	"github.com/readtag/readtag/actors"
)

// clusterTLS loads the node's certificates for mutual TLS with its peers.
// Without them a cluster would be open to anyone who reaches its port, so
// plain TCP is allowed only with --cluster-insecure, on loopback only.
func (o *options) clusterTLS(ca, cert, key string, insecure bool) error {
	given := ca != "" || cert != "" || key != ""
	if o.cluster == nil {
		if given || insecure {
			return errors.New("--cluster-ca, --cluster-cert, --cluster-key and --cluster-insecure need cluster mode (--node-id, --cluster-addr)")
		}
		return nil
	}
	switch {
	case given && insecure:
		return errors.New("--cluster-insecure and --cluster-ca/--cluster-cert/--cluster-key exclude each other")
	case insecure:
		addrs := []string{o.cluster.Addr}
		for _, p := range o.cluster.Peers {
			addrs = append(addrs, p.Addr)
		}
		for _, a := range addrs {
			if !loopback(a) {
				return fmt.Errorf("--cluster-insecure: %q is not a loopback address (127.0.0.0/8, ::1, localhost); between machines use --cluster-ca, --cluster-cert and --cluster-key", a)
			}
		}
		return nil
	case ca == "" || cert == "" || key == "":
		return errors.New("cluster mode needs --cluster-ca, --cluster-cert and --cluster-key for mutual TLS between nodes " +
			"(make them with: readtag certs --dir DIR --nodes a,b,c), or --cluster-insecure to try it on loopback only")
	}
	certs, err := actors.LoadClusterCerts(ca, cert, key, o.nodeID, o.cluster.Peers)
	if err != nil {
		return err
	}
	o.cluster.TLS, o.clusterCerts, o.clusterKey = certs.TLSConfig(), certs, key
	return nil
}

// keyExposed reports whether the private key file at path gives group or
// others any access (as ssh refuses), with its permission bits. Windows
// has no such bits, so there it is never exposed.
func keyExposed(path string) (fs.FileMode, bool) {
	st, err := os.Stat(path)
	if err != nil || runtime.GOOS == "windows" {
		return 0, false
	}
	return st.Mode().Perm(), st.Mode().Perm()&0o077 != 0
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
