package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Lifetimes of what `readtag certs` makes.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	nodeLifetime = 2 * 365 * 24 * time.Hour
)

var nodeIDRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// caName names the CA's files, ca.crt and ca.key: a node of that name would
// overwrite the CA, so no node may take it.
const caName = "ca"

// runCerts is `readtag certs`: it writes a cluster CA (or reuses the one in
// --dir) and a certificate and key per node, the node id as its DNS SAN
// and CN, ready for --cluster-ca, --cluster-cert and --cluster-key.
func runCerts(args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("readtag certs", flag.ContinueOnError)
	fset.SetOutput(stdout)
	dir := fset.String("dir", "", "`folder` to write ca.crt, ca.key and <node>.crt, <node>.key to")
	nodes := fset.String("nodes", "", "comma-separated node `ids`, as in --node-id")
	force := fset.Bool("force", false, "overwrite the listed nodes' existing keys (to renew them; the CA is kept:\nremove ca.crt and ca.key for a new one)")
	fset.Usage = func() {
		fmt.Fprintf(fset.Output(), "Usage: readtag certs --dir DIR --nodes a,b,c [--force]\n\n"+
			"Makes a cluster CA and one certificate per node for mutual TLS between\n"+
			"nodes. An existing CA in DIR is reused, so nodes can be added later.\n\nFlags:\n")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &usageError{err}
	}
	if *dir == "" || *nodes == "" || fset.NArg() > 0 {
		return &usageError{errors.New("certs needs --dir DIR and --nodes a,b,c")}
	}
	// Every id is checked before anything is written.
	var ids []string
	for _, id := range strings.Split(*nodes, ",") {
		switch id = strings.TrimSpace(id); {
		case !nodeIDRE.MatchString(id):
			return &usageError{fmt.Errorf("--nodes: %q is not a node id (lowercase letters, digits and dashes)", id)}
		case id == caName:
			return &usageError{fmt.Errorf("--nodes: %q is taken by the CA's files (%s.crt, %s.key): choose another node id", id, caName, caName)}
		case slices.Contains(ids, id):
			return &usageError{fmt.Errorf("--nodes: %q is listed twice", id)}
		}
		ids = append(ids, id)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	if !*force {
		for _, id := range ids {
			if _, err := os.Stat(filepath.Join(*dir, id+".key")); err == nil {
				return &usageError{fmt.Errorf("%s already exists: not overwritten without --force", filepath.Join(*dir, id+".key"))}
			}
		}
	}
	ca, caKey, made, err := loadOrMakeCA(*dir)
	if err != nil {
		return err
	}
	caCrt, caKeyFile := filepath.Join(*dir, caName+".crt"), filepath.Join(*dir, caName+".key")
	if made {
		fmt.Fprintf(stdout, "wrote %s and %s (the CA; keep %s.key off the nodes)\n", caCrt, caKeyFile, caName)
	} else {
		fmt.Fprintf(stdout, "using the CA in %s\n", caCrt)
		if mode, exposed := keyExposed(caKeyFile); exposed {
			fmt.Fprintf(stdout, "warning: %s is open to group or others (mode %#o): chmod 600 %s\n", caKeyFile, mode, caKeyFile)
		}
	}
	for _, id := range ids {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: id, Organization: []string{"readtag cluster"}},
			DNSNames:    []string{id},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		if err := writePair(*dir, id, tmpl, ca, key, caKey, nodeLifetime); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s and %s (node %s)\n", filepath.Join(*dir, id+".crt"), filepath.Join(*dir, id+".key"), id)
	}
	return nil
}

// loadOrMakeCA reuses the CA in dir, or makes one if there is none. An
// existing CA key is never overwritten: every node's certificate hangs on it.
func loadOrMakeCA(dir string) (*x509.Certificate, crypto.Signer, bool, error) {
	crt, key := filepath.Join(dir, caName+".crt"), filepath.Join(dir, caName+".key")
	pair, err := tls.LoadX509KeyPair(crt, key)
	if err == nil {
		ca, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, nil, false, fmt.Errorf("read %s: %w", crt, err)
		}
		signer, ok := pair.PrivateKey.(crypto.Signer)
		if !ok || !ca.IsCA {
			return nil, nil, false, fmt.Errorf("%s is not a CA", crt)
		}
		return ca, signer, false, nil
	}
	if _, statErr := os.Stat(key); statErr == nil {
		return nil, nil, false, fmt.Errorf("read the CA in %s (not overwritten): %w", dir, err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, false, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "readtag cluster CA", Organization: []string{"readtag cluster"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	if err := writePair(dir, caName, tmpl, nil, caKey, nil, caLifetime); err != nil {
		return nil, nil, false, err
	}
	if pair, err = tls.LoadX509KeyPair(crt, key); err != nil {
		return nil, nil, false, err
	}
	ca, err := x509.ParseCertificate(pair.Certificate[0])
	return ca, caKey, true, err
}

// writePair signs tmpl with parent (itself when nil) and writes name.crt and
// name.key (0600).
func writePair(dir, name string, tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, parentKey crypto.Signer, life time.Duration) error {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour) // tolerate clocks a little behind
	tmpl.NotAfter = time.Now().Add(life)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return fmt.Errorf("sign %s: %w", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, name+".key"), "PRIVATE KEY", keyDER, 0o600); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, name+".crt"), "CERTIFICATE", der, 0o644)
}

func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil { // an existing file keeps its mode otherwise
		f.Close()
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: kind, Bytes: der}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
