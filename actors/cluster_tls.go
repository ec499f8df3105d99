package actors

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/readtag/readtag"
)

// ClusterCerts is a node's cluster CA and certificate, read from PEM files
// (as `readtag certs` makes them) and re-read while the node runs (Reload,
// Watch in cluster_tls_watch.go). Its TLSConfig, used both to listen and to
// dial, takes the set in use at each handshake, so a new set changes what
// new connections present and accept; an established connection keeps the
// one it was made with.
type ClusterCerts struct {
	caFile, certFile, keyFile, node string
	peers                           []string
	config                          *tls.Config
	// now is the clock a new set and expiries are judged by; tests move it.
	now func() time.Time
	// poll is how often Watch reads the files for changes.
	poll time.Duration

	cur              atomic.Pointer[certSet]
	reloads, refused atomic.Int64
	// open: any node the CA signed may connect, not only peers (see
	// AdmitJoiners).
	open atomic.Bool

	mu sync.Mutex // serialises reloads; guards what follows
	// applied is the sum of the files of the set in use, seen the sum read
	// at the last poll, lastRefused the last sum refused.
	applied, seen, lastRefused [sha256.Size]byte
	logged                     map[[sha256.Size]byte]expiryLog
}

// certSet is one generation of the node's certificates. It is never
// changed once in use: a reload puts a new one in its place.
type certSet struct {
	ca     *x509.CertPool
	cas    []*x509.Certificate // in the CA file's order
	cert   tls.Certificate
	leaf   *x509.Certificate
	server *tls.Config // for a connection this node accepts
}

// certFiles are the contents of the three files, read together, and their
// sum; err is the first that could not be read.
type certFiles struct {
	ca, cert, key []byte
	sum           [sha256.Size]byte
	err           error
}

// LoadClusterCerts reads the cluster CA's certificate (or a bundle of
// several, while the CA is rotated) and this node's certificate and key.
// Both ends of a connection present a certificate and require one signed
// by the cluster CA that names (as a DNS SAN) one of the peers. Addresses
// are not in the certificates (a node id is what identifies a node), so
// the usual host name check is replaced by verifyPeer.
func LoadClusterCerts(caFile, certFile, keyFile, node string, peers []Peer) (*ClusterCerts, error) {
	c := &ClusterCerts{caFile: caFile, certFile: certFile, keyFile: keyFile, node: node, now: time.Now, poll: certPoll}
	for _, p := range peers {
		c.peers = append(c.peers, p.ID)
	}
	f := c.read()
	set, err := c.parse(f)
	if err != nil {
		return nil, &ConfigError{msg: err.Error()}
	}
	c.cur.Store(set)
	c.applied, c.seen = f.sum, f.sum
	c.config = &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Listening: each handshake takes the set in use.
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return c.cur.Load().server, nil
		},
		// Dialling: our certificate and the peer's check come from the set
		// in use; the chain and the node id are checked in
		// VerifyConnection instead of against the address.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &c.cur.Load().cert, nil
		},
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return c.verify(c.cur.Load().ca, cs.PeerCertificates)
		},
	}
	return c, nil
}

// TLSConfig is the node's side of mutual TLS, for ClusterConfig.TLS.
func (c *ClusterCerts) TLSConfig() *tls.Config { return c.config }

// Reload re-reads the three files and, if they make a valid set for this
// node, puts it in use for new connections. A set that is not valid
// (unreadable, a key that does not match, a certificate that names another
// node, is not signed by the CA or has expired) is refused with the reason,
// and the set in use stays. It reports whether a new set was taken.
func (c *ClusterCerts) Reload() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.read()
	c.seen = f.sum
	if f.sum == c.applied {
		return false, nil
	}
	return c.take(f)
}

// take puts the set in f in use, or refuses it. c.mu is held.
func (c *ClusterCerts) take(f certFiles) (bool, error) {
	set, err := c.parse(f)
	if err != nil {
		c.lastRefused = f.sum
		c.refused.Add(1)
		return false, err
	}
	c.cur.Store(set)
	c.applied = f.sum
	c.reloads.Add(1)
	return true, nil
}

func (c *ClusterCerts) read() certFiles {
	var f certFiles
	h := sha256.New()
	for _, r := range []struct {
		path string
		into *[]byte
	}{{c.caFile, &f.ca}, {c.certFile, &f.cert}, {c.keyFile, &f.key}} {
		b, err := readSmall(r.path)
		if err != nil && f.err == nil {
			f.err = err
		}
		if err != nil {
			b = []byte(err.Error()) // a file that cannot be read is a content too
		}
		*r.into = b
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	copy(f.sum[:], h.Sum(nil))
	return f
}

// maxCertFile bounds what is read of a certificate or key file, re-read
// every certPoll: a PEM certificate is about 1 KB, a bundle of CAs a few.
const maxCertFile = 1 << 20

// readSmall reads the file at path, refusing one larger than maxCertFile.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCertFile+1))
	if err == nil && len(b) > maxCertFile {
		err = &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than %d bytes: not a certificate or key", maxCertFile)}
	}
	return b, err
}

// parse checks that f is a set this node can use now.
func (c *ClusterCerts) parse(f certFiles) (*certSet, error) {
	if f.err != nil {
		var pe *os.PathError
		if errors.As(f.err, &pe) && pe.Path == c.caFile {
			return nil, fmt.Errorf("cluster CA: %v", f.err)
		}
		return nil, fmt.Errorf("cluster certificate: %v", f.err)
	}
	s := &certSet{ca: x509.NewCertPool()}
	rest, n := f.ca, 0
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		n++
		ca, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("cluster CA %s: certificate %d: %v", c.caFile, n, err)
		}
		if !ca.IsCA {
			return nil, fmt.Errorf("cluster CA %s: certificate %d (%q) is not a CA", c.caFile, n, ca.Subject.CommonName)
		}
		// The same CA twice (a bundle of old and new made while they were
		// one) counts once: it would be two identical /metrics series.
		if !slices.ContainsFunc(s.cas, ca.Equal) {
			s.ca.AddCert(ca)
			s.cas = append(s.cas, ca)
		}
	}
	if len(s.cas) == 0 {
		return nil, fmt.Errorf("cluster CA %s: no PEM certificate in it", c.caFile)
	}
	cert, err := tls.X509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, fmt.Errorf("cluster certificate %s with key %s: %v", c.certFile, c.keyFile, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("cluster certificate %s: %v", c.certFile, err)
	}
	if !slices.Contains(leaf.DNSNames, c.node) {
		return nil, fmt.Errorf("cluster certificate names %v, not this node %q (make it with: readtag certs --nodes %s)", leaf.DNSNames, c.node, c.node)
	}
	inter := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		if ic, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(ic)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: s.ca, Intermediates: inter, CurrentTime: c.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("cluster certificate of %q is not signed by the cluster CA, or not valid now: %v", c.node, err)
	}
	cert.Leaf = leaf
	s.cert, s.leaf = cert, leaf
	s.server = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    s.ca,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return c.verify(s.ca, cs.PeerCertificates)
		},
	}
	return s, nil
}

// Status is the set in use, for /metrics: the node's certificate, then
// each CA, with the reloads taken and refused since start.
func (c *ClusterCerts) Status() readtag.TLSStatus {
	s := c.cur.Load()
	st := readtag.TLSStatus{Reloads: c.reloads.Load(), Refused: c.refused.Load()}
	for _, cc := range s.all() {
		st.Certs = append(st.Certs, readtag.CertStatus{
			Role: cc.role, Subject: cc.cert.Subject.CommonName, Serial: cc.cert.SerialNumber.Text(16), NotAfter: cc.cert.NotAfter,
		})
	}
	return st
}

// roleCert is a certificate of a set and what it is to the node.
type roleCert struct {
	role string // "node" or "ca"
	cert *x509.Certificate
}

func (s *certSet) all() []roleCert {
	out := []roleCert{{"node", s.leaf}}
	for _, ca := range s.cas {
		out = append(out, roleCert{"ca", ca})
	}
	return out
}

// verifyPeer accepts a certificate chain signed by the cluster CA, valid for
// both ends of a connection, whose leaf names one of the peers.
func verifyPeer(ca *x509.CertPool, peers []string, chain []*x509.Certificate) error {
	if err := verifyChain(ca, chain); err != nil {
		return err
	}
	leaf := chain[0]
	for _, name := range leaf.DNSNames {
		if slices.Contains(peers, name) {
			return nil
		}
	}
	return fmt.Errorf("certificate names %v, none of them a peer (%v)", leaf.DNSNames, peers)
}

// verifyChain accepts a certificate chain signed by the cluster CA, valid
// for both ends of a connection.
func verifyChain(ca *x509.CertPool, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return fmt.Errorf("no certificate")
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			return fmt.Errorf("certificate for %v: %w", leaf.DNSNames, err)
		}
	}
	return nil
}

// certNames reports whether the verified leaf certificate of a TLS
// connection names node.
func certNames(cs tls.ConnectionState, node string) bool {
	return len(cs.PeerCertificates) > 0 && slices.Contains(cs.PeerCertificates[0].DNSNames, node)
}
