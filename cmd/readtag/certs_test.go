package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"certs", "--dir", dir, "--nodes", "a,b"}, &out, env()); err != nil {
		t.Fatal(err)
	}
	ca := readCert(t, filepath.Join(dir, "ca.crt"))
	if !ca.IsCA {
		t.Error("ca.crt is not a CA")
	}
	for _, id := range []string{"a", "b"} {
		c := readCert(t, filepath.Join(dir, id+".crt"))
		if !slices.Equal(c.DNSNames, []string{id}) || c.Subject.CommonName != id {
			t.Errorf("%s.crt names %v (CN %q)", id, c.DNSNames, c.Subject.CommonName)
		}
		pool := x509.NewCertPool()
		pool.AddCert(ca)
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s.crt: %v", id, err)
		}
		if life := c.NotAfter.Sub(time.Now()); life < 365*24*time.Hour {
			t.Errorf("%s.crt expires in %v", id, life)
		}
	}
	for _, name := range []string{"ca.key", "a.key", "b.key"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", name, err, st.Mode().Perm())
		}
	}
	// Existing keys stay unless --force; the CA is reused for a new node.
	err := run(context.Background(), []string{"certs", "--dir", dir, "--nodes", "b,c"}, &out, env())
	var usage *usageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "b.key already exists") {
		t.Errorf("overwriting b.key: %v, want a usage error", err)
	}
	if err := run(context.Background(), []string{"certs", "--dir", dir, "--nodes", "c"}, &out, env()); err != nil {
		t.Fatal(err)
	}
	if c := readCert(t, filepath.Join(dir, "c.crt")); c.CheckSignatureFrom(ca) != nil {
		t.Error("c.crt is not signed by the existing CA")
	}
	// --force renews a node's key and certificate with the same CA.
	oldA := readCert(t, filepath.Join(dir, "a.crt"))
	if err := run(context.Background(), []string{"certs", "--dir", dir, "--nodes", "a", "--force"}, &out, env()); err != nil {
		t.Fatal(err)
	}
	if newA := readCert(t, filepath.Join(dir, "a.crt")); newA.Equal(oldA) || newA.CheckSignatureFrom(ca) != nil || !readCert(t, filepath.Join(dir, "ca.crt")).Equal(ca) {
		t.Error("--force did not renew a.crt with the same CA")
	}
	for _, args := range [][]string{{"certs"}, {"certs", "--dir", dir}, {"certs", "--dir", dir, "--nodes", "Bad Id"}} {
		if err := run(context.Background(), args, &out, env()); !errors.As(err, &usage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClusterNeedsTLS: cluster mode refuses to start without certificates,
// except with --cluster-insecure on loopback only.
func TestClusterNeedsTLS(t *testing.T) {
	certs := makeCerts(t, "a", "b")
	cluster := []string{"--node-id", "a", "--cluster-addr", "127.0.0.1:7001", "--peers", "b@127.0.0.1:7002"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{cluster, "cluster mode needs --cluster-ca, --cluster-cert and --cluster-key"},
		{append(slices.Clone(cluster), "--cluster-ca", filepath.Join(certs, "ca.crt")), "cluster mode needs --cluster-ca"},
		{[]string{"--node-id", "a", "--cluster-addr", "127.0.0.1:7001", "--peers", "b@10.0.0.2:7002", "--cluster-insecure"}, `"10.0.0.2:7002" is not a loopback address`},
		{[]string{"--node-id", "a", "--cluster-addr", "0.0.0.0:7001", "--cluster-insecure"}, `"0.0.0.0:7001" is not a loopback address`},
		{append(append(slices.Clone(cluster), "--cluster-insecure"), tlsArgs(certs, "a")...), "exclude each other"},
		{append(slices.Clone(cluster), tlsArgs(certs, "b")...), `cluster certificate names [b], not this node "a"`},
		{append(slices.Clone(cluster), "--cluster-ca", filepath.Join(certs, "a.key"), "--cluster-cert", filepath.Join(certs, "a.crt"), "--cluster-key", filepath.Join(certs, "a.key")), "no PEM certificate"},
		{[]string{"--cluster-insecure"}, "need cluster mode"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, &out, env())
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
	// The process says so and exits 2.
	out, err := exec.Command(binary(t), cluster...).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "readtag certs --dir DIR --nodes a,b,c") {
		t.Errorf("cluster mode without certificates: %v, output %q; want exit 2 with how to make them", err, out)
	}
}
