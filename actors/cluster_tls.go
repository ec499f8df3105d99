package actors

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
)

// LoadClusterTLS reads the cluster CA's certificate and this node's
// certificate and key (PEM files, as `readtag certs` makes them) and returns
// the tls.Config of node, for ClusterConfig.TLS. It is used both to listen
// and to dial: both ends present a certificate and require one signed by the
// cluster CA that names (as a DNS SAN) one of the peers. Addresses are not in
// the certificates (a node id is what identifies a node), so the usual host
// name check is replaced by verifyPeer.
func LoadClusterTLS(caFile, certFile, keyFile, node string, peers []Peer) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, configErrorf("cluster CA: %v", err)
	}
	ca := x509.NewCertPool()
	if !ca.AppendCertsFromPEM(pem) {
		return nil, configErrorf("cluster CA %s: no PEM certificate in it", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, configErrorf("cluster certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, configErrorf("cluster certificate %s: %v", certFile, err)
	}
	if !slices.Contains(leaf.DNSNames, node) {
		return nil, configErrorf("cluster certificate names %v, not this node %q (make it with: readtag certs --nodes %s)", leaf.DNSNames, node, node)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, configErrorf("cluster certificate of %q is not signed by the cluster CA: %v", node, err)
	}
	ids := make([]string, 0, len(peers))
	for _, p := range peers {
		ids = append(ids, p.ID)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca,
		RootCAs:      ca,
		// Dialling: the chain and the node id are checked in
		// VerifyConnection instead of against the address.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPeer(ca, ids, cs.PeerCertificates)
		},
	}, nil
}

// verifyPeer accepts a certificate chain signed by the cluster CA, valid for
// both ends of a connection, whose leaf names one of the peers.
func verifyPeer(ca *x509.CertPool, peers []string, chain []*x509.Certificate) error {
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
	for _, name := range leaf.DNSNames {
		if slices.Contains(peers, name) {
			return nil
		}
	}
	return fmt.Errorf("certificate names %v, none of them a peer (%v)", leaf.DNSNames, peers)
}

// certNames reports whether the verified leaf certificate of a TLS
// connection names node.
func certNames(cs tls.ConnectionState, node string) bool {
	return len(cs.PeerCertificates) > 0 && slices.Contains(cs.PeerCertificates[0].DNSNames, node)
}
