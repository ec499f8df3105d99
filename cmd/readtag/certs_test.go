package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/testutil"
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

// A node id that would take the CA's files (ca.crt, ca.key) or is no node id
// at all is refused with a usage error before anything is written: before,
// `--nodes a,ca` replaced the CA with a node's certificate and key (issue 20,
// item 6).
func TestCertsRefusesHostileNodeIDs(t *testing.T) {
	hostile := []struct{ nodes, want string }{
		{"ca", `"ca" is taken by the CA's files`},
		{"a,ca", `"ca" is taken by the CA's files`},
		{"ca,a", `"ca" is taken by the CA's files`},
		{"a, ca ", `"ca" is taken by the CA's files`},
		{"a,b,a", `"a" is listed twice`},
		{"CA", "is not a node id"},
		{"ca.key", "is not a node id"},
		{"../ca", "is not a node id"},
		{"a/b", "is not a node id"},
		{"a,", "is not a node id"},
	}
	// refuseAll runs certs with every hostile list, with and without
	// --force, expects a usage error naming the problem, and then checks
	// that dir is as it was.
	refuseAll := func(t *testing.T, dir string, unchanged func(args []string)) {
		for _, h := range hostile {
			for _, force := range []bool{false, true} {
				args := []string{"certs", "--dir", dir, "--nodes", h.nodes}
				if force {
					args = append(args, "--force")
				}
				var usage *usageError
				if err := run(context.Background(), args, io.Discard, env()); !errors.As(err, &usage) || !strings.Contains(err.Error(), h.want) {
					t.Errorf("%v: %v, want a usage error containing %s", args, err, h.want)
				}
				unchanged(args)
			}
		}
	}
	t.Run("new folder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "certs")
		refuseAll(t, dir, func(args []string) {
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%v made %s: %v", args, dir, err)
			}
		})
	})
	t.Run("existing CA", func(t *testing.T) {
		dir := makeCerts(t, "a")
		before := files(t, dir)
		refuseAll(t, dir, func(args []string) {
			if after := files(t, dir); !maps.Equal(after, before) {
				t.Fatalf("%v changed the folder: %v, was %v", args, slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(before)))
			}
		})
	})
}

// files maps each file in dir to its mode and contents.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = info.Mode().String() + "\n" + string(b)
	}
	return out
}

// A CA key that group or others can read is reported when `readtag certs`
// uses it; the keys certs writes are 0600 whatever the file was before.
func TestCertsWarnsOfAnOpenCAKey(t *testing.T) {
	dir := makeCerts(t, "a")
	caKey := filepath.Join(dir, "ca.key")
	if err := os.Chmod(caKey, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "a.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"certs", "--dir", dir, "--nodes", "a,b", "--force"}, &out, env()); err != nil {
		t.Fatal(err)
	}
	if want := "warning: " + caKey + " is open to group or others (mode 0644): chmod 600 " + caKey; !strings.Contains(out.String(), want) {
		t.Errorf("certs with a world-readable CA key said:\n%s\nwant %q", out.String(), want)
	}
	for _, name := range []string{"a.key", "b.key"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", name, err, st.Mode().Perm())
		}
	}

	if err := os.Chmod(caKey, 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"certs", "--dir", dir, "--nodes", "c"}, &out, env()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "warning") {
		t.Errorf("certs with a 0600 CA key warned:\n%s", out.String())
	}
}

// A --cluster-key that group or others can read is logged at start, with
// its mode; a 0600 one is not.
func TestServerWarnsOfAnOpenClusterKey(t *testing.T) {
	certs := makeCerts(t, "a", "b")
	key := filepath.Join(certs, "a.key")
	const warning = "cluster key file is open to group or others: chmod 600 it"
	for _, mode := range []os.FileMode{0o640, 0o604, 0o600} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		addrs := testutil.FreeAddrs(t, 2)
		args := append([]string{"--addr", "127.0.0.1:0", "--log-format", "json", "--node-id", "a",
			"--cluster-addr", addrs[0], "--peers", "b@" + addrs[1]}, tlsArgs(certs, "a")...)
		ctx, cancel := context.WithCancel(context.Background())
		logs := &logLines{}
		done := make(chan error, 1)
		go func() { done <- run(ctx, args, logs, env()) }()
		logs.find(t, "readtag listening") // the check comes before it
		var warned map[string]any
		logs.mu.Lock()
		for _, l := range logs.lines {
			if l["msg"] == warning {
				warned = l
			}
		}
		logs.mu.Unlock()
		switch {
		case mode == 0o600 && warned != nil:
			t.Errorf("key mode %#o: warned %v", mode, warned)
		case mode != 0o600 && (warned == nil || warned["level"] != "WARN" || warned["file"] != key || warned["mode"] != fmt.Sprintf("%#o", mode)):
			t.Errorf("key mode %#o: warning %v, want a WARN naming %s and its mode", mode, warned, key)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run: %v", err)
		}
	}
}
