package actors

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCerts writes a cluster CA and a certificate per node id (named as a
// DNS SAN, as `readtag certs` does) into a temporary folder.
func testCerts(t *testing.T, ids ...string) string {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test cluster CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", "CERTIFICATE", caDER)
	for i, id := range ids {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: id}, DNSNames: []string{id},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		write(id+".crt", "CERTIFICATE", der)
		write(id+".key", "EC PRIVATE KEY", kder)
	}
	return dir
}

func clusterTLS(t *testing.T, dir, node string, peers ...string) *tls.Config {
	t.Helper()
	var ps []Peer
	for _, p := range peers {
		ps = append(ps, Peer{ID: p, Addr: "127.0.0.1:1"})
	}
	certs, err := LoadClusterCerts(filepath.Join(dir, "ca.crt"), filepath.Join(dir, node+".crt"), filepath.Join(dir, node+".key"), node, ps)
	if err != nil {
		t.Fatal(err)
	}
	return certs.TLSConfig()
}

// A link dials the node it means: another member of the cluster answering
// at that address (a valid certificate, but for another id) is refused.
func TestLinkRefusesAnotherNodesCertificate(t *testing.T) {
	dir := testCerts(t, "a", "b", "c")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", clusterTLS(t, dir, "c", "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.(*tls.Conn).Handshake()
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = conn.Read(make([]byte, 1))
			}()
		}
	}()
	l := &links{tls: clusterTLS(t, dir, "a", "b", "c"), dialTimeout: 5 * time.Second, writeTimeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = (&link{l: l, node: "b"}).dial(ctx, ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), `does not name node "b"`) {
		t.Fatalf("dialling b at c's address: err = %v, want a refusal", err)
	}
}
