package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web/client"
)

// What the nodes log about their certificates (actors/cluster_tls_watch.go).
const (
	logReloaded  = "cluster certificates reloaded: new connections use them, established ones are kept"
	logRefused   = "cluster certificates refused: the ones in use stay"
	logUnchanged = "cluster certificates unchanged on disk"
)

// logged returns n's JSON log lines with msg.
func logged(t *testing.T, n *node, msg string) []map[string]any {
	t.Helper()
	f, err := os.Open(n.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// metricLines are n's /metrics samples of the metric name.
func metricLines(n *node, name string) []string {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(n.url() + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			out = append(out, line)
		}
	}
	return out
}

var certSeries = regexp.MustCompile(`^readtag_cluster_cert_expiry_seconds\{cert="(node|ca)",serial="([0-9a-f]+)",subject="[^"]*"\} `)

// certSerials are the serials n's /metrics shows for its certificates of
// role (node or ca), in /metrics' order (sorted by labels).
func certSerials(n *node, role string) []string {
	var out []string
	for _, line := range metricLines(n, "readtag_cluster_cert_expiry_seconds") {
		if m := certSeries.FindStringSubmatch(line); m != nil && m[1] == role {
			out = append(out, m[2])
		}
	}
	return out
}

func serialOf(t *testing.T, path string) string { return readCert(t, path).SerialNumber.Text(16) }

// copyFile replaces dst with src's contents (keeping dst's mode).
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, b)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// signNode makes a certificate for node id signed by the CA in caDir,
// valid from notBefore to notAfter, and returns it and its key in PEM.
func signNode(t *testing.T, caDir, id string, notBefore, notAfter time.Time) (crt, key []byte) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(caDir, caName+".crt"), filepath.Join(caDir, caName+".key"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: id}, DNSNames: []string{id},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, pair.PrivateKey.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// restart stops n (SIGTERM) and starts it again with the same flags.
func restart(t *testing.T, n *node) {
	t.Helper()
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	_ = n.cmd.Wait()
	n.start(t)
}

// TestClusterCertRotation rotates both nodes' certificates on disk, then
// the CA (through a bundle of the old and the new one), under live readers:
// the readers see nothing, established links stay, and a new connection
// (b restarted) uses the new certificates. A new set that has expired or
// comes from another CA is refused and the set in use stays. Before, a
// node read its certificates once, at start: a rotation needed a restart
// of every node, and a certificate that expired while running split the
// cluster at the next reconnection (issue 20, item 5).
func TestClusterCertRotation(t *testing.T) {
	certs := makeCerts(t, "a", "b")
	p := startPairCerts(t, certs)
	a, b := p.a, p.b
	marks := map[*client.Conn]int{p.onA: len(p.onA.Frames()), p.onB: len(p.onB.Frames())}
	// nothingSeen fails if a reader saw anyone join or leave since the start.
	nothingSeen := func(when string) {
		t.Helper()
		for c, mark := range marks {
			for _, f := range c.Frames()[mark:] {
				if f.Type == "join" || f.Type == "leave" || f.Type == "welcome" {
					t.Fatalf("%s: reader %s saw %s", when, c.You().ID, f.Raw)
				}
			}
		}
	}
	// reloaded waits until each node has taken n sets since it started.
	reloaded := func(n int, what string) {
		t.Helper()
		within(t, 20*time.Second, what, func() bool {
			return len(logged(t, a, logReloaded)) == n && len(logged(t, b, logReloaded)) == n
		})
	}
	for _, n := range []*node{a, b} {
		if got, want := certSerials(n, "node"), serialOf(t, filepath.Join(certs, n.id+".crt")); !slices.Equal(got, []string{want}) {
			t.Fatalf("node %s /metrics shows node certificate %v, want [%s]", n.id, got, want)
		}
	}
	caSerial := serialOf(t, filepath.Join(certs, "ca.crt"))

	// 1. Both node certificates renewed with the same CA, found by polling.
	if err := runCerts([]string{"--dir", certs, "--nodes", "a,b", "--force"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	reloaded(1, "the renewed certificates taken by polling")
	for _, n := range []*node{a, b} {
		if got, want := certSerials(n, "node"), serialOf(t, filepath.Join(certs, n.id+".crt")); !slices.Equal(got, []string{want}) {
			t.Fatalf("node %s /metrics shows node certificate %v after the renewal, want [%s]", n.id, got, want)
		}
	}
	serving(t, a, p.onB, p.onA, 0.25)
	nothingSeen("after the renewal")

	// 2. A new CA: first both trust a bundle of the old and the new CA, then
	// both take certificates of the new CA, then the old CA is dropped.
	// SIGHUP makes each step immediate.
	next := makeCerts(t, "a", "b")
	hup := func() {
		for _, n := range []*node{a, b} {
			if err := n.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}
	}
	oldCA, err := os.ReadFile(filepath.Join(certs, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	newCA, err := os.ReadFile(filepath.Join(next, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(certs, "ca.crt"), append(slices.Clone(oldCA), newCA...))
	hup()
	reloaded(2, "the CA bundle taken")
	newSerial := serialOf(t, filepath.Join(next, "ca.crt"))
	if got, want := certSerials(a, "ca"), []string{caSerial, newSerial}; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("/metrics shows CAs %v with the bundle, want %v", got, want)
	}
	for _, id := range []string{"a", "b"} {
		copyFile(t, filepath.Join(next, id+".crt"), filepath.Join(certs, id+".crt"))
		copyFile(t, filepath.Join(next, id+".key"), filepath.Join(certs, id+".key"))
	}
	hup()
	reloaded(3, "the certificates of the new CA taken")
	writeFile(t, filepath.Join(certs, "ca.crt"), newCA)
	hup()
	reloaded(4, "the old CA dropped")
	if got := certSerials(a, "ca"); !slices.Equal(got, []string{newSerial}) {
		t.Fatalf("/metrics shows CAs %v after the old was dropped, want [%s]", got, newSerial)
	}
	serving(t, a, p.onB, p.onA, 0.5)
	serving(t, b, p.onA, p.onB, 0.75)
	nothingSeen("after the CA rotation")
	for _, n := range []*node{a, b} {
		if lines := logged(t, n, logRefused); len(lines) > 0 {
			t.Fatalf("node %s refused a set during the rotation: %v", n.id, lines)
		}
	}
	// SIGHUP with nothing new says so (and does not stop the process).
	_ = a.cmd.Process.Signal(syscall.SIGHUP)
	within(t, 10*time.Second, "a SIGHUP with nothing new", func() bool { return len(logged(t, a, logUnchanged)) > 0 })

	// 3. A new connection uses the new certificates: b restarts, knowing
	// only the new CA; a's link dials it again, each side accepting the
	// other only with the new CA.
	restart(t, b)
	within(t, 20*time.Second, "a and b to see each other again", func() bool {
		_, ma, _ := a.health()
		_, mb, _ := b.health()
		return slices.Contains(ma, "b") && slices.Contains(mb, "a")
	})
	onB := dial(t, b, "actors-in-go")
	within(t, 10*time.Second, "readers on a and the restarted b to see each other", func() bool {
		return slices.Contains(ids(p.onA), onB.You().ID) && slices.Contains(ids(onB), p.onA.You().ID)
	})

	// 4. Refused: a certificate for a that has expired, then one of another
	// CA. a keeps the set in use: b, restarted, joins it again.
	inUse := certSerials(a, "node")
	expired, expiredKey := signNode(t, next, "a", time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	writeFile(t, filepath.Join(certs, "a.crt"), expired)
	writeFile(t, filepath.Join(certs, "a.key"), expiredKey)
	_ = a.cmd.Process.Signal(syscall.SIGHUP)
	within(t, 10*time.Second, "the expired certificate refused", func() bool { return len(logged(t, a, logRefused)) == 1 })
	other := makeCerts(t, "a")
	copyFile(t, filepath.Join(other, "a.crt"), filepath.Join(certs, "a.crt"))
	copyFile(t, filepath.Join(other, "a.key"), filepath.Join(certs, "a.key"))
	_ = a.cmd.Process.Signal(syscall.SIGHUP)
	within(t, 10*time.Second, "the certificate of another CA refused", func() bool { return len(logged(t, a, logRefused)) == 2 })
	refused := logged(t, a, logRefused)
	for i, want := range []string{"certificate has expired", "not signed by the cluster CA"} {
		if refused[i]["level"] != "ERROR" || !strings.Contains(refused[i]["err"].(string), want) {
			t.Errorf("refusal %d: %v, want an ERROR saying %q", i, refused[i], want)
		}
	}
	if got := certSerials(a, "node"); !slices.Equal(got, inUse) {
		t.Fatalf("a's node certificate %v after the refusals, want %v still", got, inUse)
	}
	if got := metricLines(a, `readtag_cluster_cert_reloads_total`); !slices.Equal(got, []string{
		`readtag_cluster_cert_reloads_total{result="refused"} 2`, `readtag_cluster_cert_reloads_total{result="taken"} 4`}) {
		t.Errorf("a's reload counters: %v, want 2 refused, 4 taken", got)
	}
	restart(t, b)
	within(t, 20*time.Second, "a and b to see each other after the refusals", func() bool {
		_, ma, _ := a.health()
		_, mb, _ := b.health()
		return slices.Contains(ma, "b") && slices.Contains(mb, "a")
	})
	onB = dial(t, b, "actors-in-go")
	within(t, 10*time.Second, "readers on a and b to see each other after the refusals", func() bool {
		return slices.Contains(ids(p.onA), onB.You().ID) && slices.Contains(ids(onB), p.onA.You().ID)
	})
}

// A node whose certificate expires in 5 days says so at start, at WARN,
// and /metrics shows the seconds left for it and for the CA. Before,
// nothing was said until the certificate had expired and a peer refused it.
func TestCertExpiryWarnedAtStart(t *testing.T) {
	certs := makeCerts(t, "a", "b")
	crt, key := signNode(t, certs, "a", time.Now().Add(-time.Hour), time.Now().Add(5*24*time.Hour))
	writeFile(t, filepath.Join(certs, "a.crt"), crt)
	writeFile(t, filepath.Join(certs, "a.key"), key)
	addrs := testutil.FreeAddrs(t, 2)
	args := append([]string{"--addr", "127.0.0.1:0", "--log-format", "json", "--node-id", "a",
		"--cluster-addr", addrs[0], "--peers", "b@" + addrs[1]}, tlsArgs(certs, "a")...)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logLines{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, logs, env()) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	warned := logs.find(t, "cluster certificate expires soon: renew it (the node re-reads it from disk)")
	if warned["level"] != "WARN" || warned["cert"] != "node" || warned["days_left"] != 5.0 || warned["file"] != filepath.Join(certs, "a.crt") {
		t.Errorf("start-up warning %v, want a WARN for the node certificate with 5 days left", warned)
	}
	if ca := logs.find(t, "cluster certificate in use"); ca["cert"] != "ca" || ca["level"] != "INFO" {
		t.Errorf("CA at start: %v, want an INFO line", ca)
	}
	base := "http://" + logs.find(t, "readtag listening")["addr"].(string)
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	left := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := certSeries.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(strings.TrimSpace(line[len(m[0]):]), 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			left[m[1]] = v
		}
	}
	day := (24 * time.Hour).Seconds()
	if left["node"] < 4*day || left["node"] > 5*day || left["ca"] < 9*365*day {
		t.Errorf("/metrics seconds to expiry %v, want about 5 days for the node, 10 years for the CA", left)
	}
}
