package actors

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/testutil"
)

// testCA is a cluster CA for the reload tests, which need several CAs and
// certificates of chosen lifetimes.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var testSerial atomic.Int64

func newTestCA(t *testing.T, notAfter time.Time) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1000 + testSerial.Add(1)), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

func (ca *testCA) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// node signs a certificate naming id, valid until notAfter, and returns it
// and its key in PEM.
func (ca *testCA) node(t *testing.T, id string, notAfter time.Time) (crt, key []byte) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1000 + testSerial.Add(1)), Subject: pkix.Name{CommonName: id}, DNSNames: []string{id},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// certDir holds one node's three files.
type certDir struct {
	t                   *testing.T
	ca, cert, key, node string
}

func newCertDir(t *testing.T, node string) *certDir {
	dir := t.TempDir()
	return &certDir{t: t, node: node, ca: filepath.Join(dir, "ca.crt"), cert: filepath.Join(dir, node+".crt"), key: filepath.Join(dir, node+".key")}
}

// write replaces the files given (nil: left as they are).
func (d *certDir) write(ca, crt, key []byte) {
	d.t.Helper()
	for _, f := range []struct {
		path string
		b    []byte
	}{{d.ca, ca}, {d.cert, crt}, {d.key, key}} {
		if f.b != nil {
			if err := os.WriteFile(f.path, f.b, 0o600); err != nil {
				d.t.Fatal(err)
			}
		}
	}
}

func (d *certDir) load(peers ...string) *ClusterCerts {
	d.t.Helper()
	var ps []Peer
	for _, p := range peers {
		ps = append(ps, Peer{ID: p, Addr: "127.0.0.1:1"})
	}
	c, err := LoadClusterCerts(d.ca, d.cert, d.key, d.node, ps)
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// handshake runs a TLS handshake between a server and a client config over
// a loopback TCP connection and returns the certificate each side was
// shown; err is the first side's error. The connections stay open until
// the test ends.
func handshake(t *testing.T, server, client *tls.Config) (clientSaw, serverSaw *x509.Certificate, sc, cc *tls.Conn, err error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	raw2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	raw1, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw1.Close(); raw2.Close() })
	for _, c := range []net.Conn{raw1, raw2} {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	sc, cc = tls.Server(raw1, server), tls.Client(raw2, client)
	errs := make(chan error, 2)
	go func() {
		err := sc.Handshake()
		if err != nil {
			raw1.Close() // the client waits for the server's verdict otherwise
		}
		errs <- err
	}()
	go func() {
		err := cc.Handshake()
		if err == nil {
			// TLS 1.3: the server judges our certificate after our side
			// is done; a byte through proves it accepted.
			_, err = cc.Write([]byte{1})
		}
		errs <- err
	}()
	for range 2 {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err == nil {
		if _, err = sc.Read(make([]byte, 1)); err != nil {
			return nil, nil, nil, nil, err
		}
		clientSaw, serverSaw = cc.ConnectionState().PeerCertificates[0], sc.ConnectionState().PeerCertificates[0]
	}
	for _, c := range []net.Conn{raw1, raw2} {
		_ = c.SetDeadline(time.Time{})
	}
	return clientSaw, serverSaw, sc, cc, err
}

// A new set on disk is taken for new connections only when it is valid for
// this node; a bad one is refused with the reason and the set in use stays,
// for accepting and for dialling alike. A CA bundle (old and new) lets a
// CA be rotated.
func TestClusterCertsReload(t *testing.T) {
	far := time.Now().Add(365 * 24 * time.Hour)
	ca1, ca2 := newTestCA(t, far), newTestCA(t, far)
	a, b := newCertDir(t, "a"), newCertDir(t, "b")
	aCrt, aKey := ca1.node(t, "a", far)
	a.write(ca1.pem(), aCrt, aKey)
	bCrt, bKey := ca1.node(t, "b", far)
	b.write(ca1.pem(), bCrt, bKey)
	ca, cb := a.load("b"), b.load("a")
	serial := func() string { return ca.Status().Certs[0].Serial }

	// An established connection, in both directions, before any change.
	_, _, est1, est2, err := handshake(t, ca.TLSConfig(), cb.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	first := serial()

	otherKeyCrt, _ := ca1.node(t, "a", far)
	_, otherKey := ca1.node(t, "a", far)
	forB, forBKey := ca1.node(t, "b", far)
	foreign, foreignKey := ca2.node(t, "a", far)
	expired, expiredKey := ca1.node(t, "a", time.Now().Add(-time.Minute))
	for _, tc := range []struct {
		name         string
		ca, crt, key []byte
		remove       string
		want         string
	}{
		{name: "certificate not PEM", crt: []byte("not a certificate"), key: aKey, want: "failed to find any PEM data in certificate input"},
		{name: "key of another certificate", crt: otherKeyCrt, key: otherKey[:len(otherKey)/2], want: "with key"},
		{name: "key does not match", crt: otherKeyCrt, key: aKey, want: "private key does not match public key"},
		{name: "certificate for another node", crt: forB, key: forBKey, want: `cluster certificate names [b], not this node "a"`},
		{name: "certificate of another CA", crt: foreign, key: foreignKey, want: "not signed by the cluster CA"},
		{name: "expired certificate", crt: expired, key: expiredKey, want: "certificate has expired"},
		{name: "CA not PEM", ca: []byte("garbage"), want: "no PEM certificate in it"},
		{name: "CA file holding a node certificate", ca: aCrt, want: `certificate 1 ("a") is not a CA`},
		{name: "CA that did not sign the node", ca: ca2.pem(), want: "not signed by the cluster CA"},
		{name: "key file gone", remove: a.key, want: "cluster certificate: open"},
		{name: "CA file too large", ca: append(ca1.pem(), make([]byte, maxCertFile)...), want: "cluster CA: read " + a.ca + ": larger than"},
		{name: "CA file gone", remove: a.ca, want: "cluster CA: open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.write(tc.ca, tc.crt, tc.key)
			if tc.remove != "" {
				if err := os.Remove(tc.remove); err != nil {
					t.Fatal(err)
				}
			}
			took, err := ca.Reload()
			if took || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Reload: %v, %v; want a refusal containing %q", took, err, tc.want)
			}
			if serial() != first {
				t.Fatalf("serial in use %s, want %s still", serial(), first)
			}
			// Accepting and dialling still use the set in use.
			for _, dir := range []string{"accept", "dial"} {
				s, c := ca.TLSConfig(), cb.TLSConfig()
				if dir == "dial" {
					s, c = c, s
				}
				clientSaw, serverSaw, _, _, err := handshake(t, s, c)
				if err != nil {
					t.Fatalf("%s after a refused reload: %v", dir, err)
				}
				shown := clientSaw
				if dir == "dial" {
					shown = serverSaw
				}
				if shown.SerialNumber.Text(16) != first {
					t.Fatalf("%s: a presented %s, want %s", dir, shown.SerialNumber.Text(16), first)
				}
			}
			a.write(ca1.pem(), aCrt, aKey) // back to the set in use
			if took, err := ca.Reload(); took || err != nil {
				t.Fatalf("Reload of the set in use: %v, %v", took, err)
			}
		})
	}
	if st := ca.Status(); st.Refused != 12 || st.Reloads != 0 {
		t.Errorf("status counts %d refused, %d taken; want 12, 0", st.Refused, st.Reloads)
	}

	// A good new certificate is taken: new connections present it.
	newCrt, newKey := ca1.node(t, "a", far)
	a.write(nil, newCrt, newKey)
	if took, err := ca.Reload(); !took || err != nil {
		t.Fatalf("Reload of a good set: %v, %v", took, err)
	}
	second := serial()
	if second == first {
		t.Fatal("serial unchanged after a reload")
	}
	for _, dir := range []string{"accept", "dial"} {
		s, c := ca.TLSConfig(), cb.TLSConfig()
		if dir == "dial" {
			s, c = c, s
		}
		clientSaw, serverSaw, _, _, err := handshake(t, s, c)
		shown := clientSaw
		if dir == "dial" {
			shown = serverSaw
		}
		if err != nil {
			t.Fatalf("%s after the reload: %v", dir, err)
		}
		if got := shown.SerialNumber.Text(16); got != second {
			t.Fatalf("%s after the reload: a presented %s, want %s", dir, got, second)
		}
	}
	// The connection made before carries on, both ways.
	for _, c := range [][2]*tls.Conn{{est1, est2}, {est2, est1}} {
		go func() { _, _ = c[0].Write([]byte("x")) }()
		if _, err := c[1].Read(make([]byte, 1)); err != nil {
			t.Fatalf("established connection after the reload: %v", err)
		}
	}

	// CA rotation: both nodes trust a bundle of both CAs, then a takes a
	// certificate of the new CA; b, still of the old CA, is accepted until
	// a drops the old CA.
	for _, n := range []struct {
		d *certDir
		c *ClusterCerts
	}{{a, ca}, {b, cb}} {
		n.d.write(append(ca1.pem(), ca2.pem()...), nil, nil)
		if took, err := n.c.Reload(); !took || err != nil {
			t.Fatalf("Reload of a CA bundle on %s: %v, %v", n.d.node, took, err)
		}
	}
	if st := ca.Status(); len(st.Certs) != 3 || st.Certs[1].Role != "ca" || st.Certs[2].Role != "ca" {
		t.Fatalf("status with a bundle: %+v", st.Certs)
	}
	a.write(nil, foreign, foreignKey)
	if took, err := ca.Reload(); !took || err != nil {
		t.Fatalf("Reload of a certificate of the new CA: %v, %v", took, err)
	}
	if _, _, _, _, err := handshake(t, ca.TLSConfig(), cb.TLSConfig()); err != nil {
		t.Fatalf("b of the old CA, a with the bundle: %v", err)
	}
	a.write(ca2.pem(), nil, nil)
	if took, err := ca.Reload(); !took || err != nil {
		t.Fatalf("Reload without the old CA: %v, %v", took, err)
	}
	if _, _, _, _, err := handshake(t, ca.TLSConfig(), cb.TLSConfig()); err == nil {
		t.Fatal("b of the old CA accepted after the old CA was dropped")
	}
	if _, _, _, _, err := handshake(t, cb.TLSConfig(), ca.TLSConfig()); err == nil {
		t.Fatal("a dialled b of the old CA after the old CA was dropped")
	}
}

// logBuffer collects JSON log lines.
type logBuffer struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logBuffer) Write(p []byte) (int, error) {
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		return 0, err
	}
	l.mu.Lock()
	l.lines = append(l.lines, m)
	l.mu.Unlock()
	return len(p), nil
}

// take returns the lines logged since the last call.
func (l *logBuffer) take() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

// count is the number of lines with msg logged since the last take.
func (l *logBuffer) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.lines {
		if m["msg"] == msg {
			n++
		}
	}
	return n
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

const (
	msgReloaded  = "cluster certificates reloaded: new connections use them, established ones are kept"
	msgRefused   = "cluster certificates refused: the ones in use stay"
	msgUnchanged = "cluster certificates unchanged on disk"
)

// Polling takes a change once two reads agree, so that a certificate
// written before its key is not refused half-way; a bad set is refused
// and logged once, however many polls see it.
func TestClusterCertsPoll(t *testing.T) {
	far := time.Now().Add(365 * 24 * time.Hour)
	ca := newTestCA(t, far)
	d := newCertDir(t, "a")
	crt, key := ca.node(t, "a", far)
	d.write(ca.pem(), crt, key)
	c := d.load("b")
	logs := &logBuffer{}
	log := logs.logger()
	first := c.Status().Certs[0].Serial

	newCrt, newKey := ca.node(t, "a", far)
	d.write(nil, newCrt, nil) // the certificate first, its key not yet
	c.pollFiles(log)
	d.write(nil, nil, newKey)
	c.pollFiles(log)
	if got := c.Status().Certs[0].Serial; got != first {
		t.Fatalf("taken before the files settled: serial %s", got)
	}
	c.pollFiles(log)
	second := c.Status().Certs[0].Serial
	if second == first || logs.count(msgReloaded) != 1 || logs.count(msgRefused) != 0 {
		t.Fatalf("after the files settled: serial %s (was %s), logs %v", second, first, logs.take())
	}
	logs.take()

	forB, forBKey := ca.node(t, "b", far)
	d.write(nil, forB, forBKey)
	for range 5 {
		c.pollFiles(log)
	}
	lines := logs.take()
	if len(lines) != 1 || lines[0]["msg"] != msgRefused || lines[0]["level"] != "ERROR" ||
		!strings.Contains(lines[0]["err"].(string), `not this node "a"`) || lines[0]["cert"] != d.cert {
		t.Fatalf("five polls of a certificate for b logged %v, want one ERROR naming the file and why", lines)
	}
	if st := c.Status(); st.Refused != 1 || st.Certs[0].Serial != second {
		t.Fatalf("status after the refusal: %+v", st)
	}
	// Back to the set in use: nothing to do, nothing logged.
	d.write(nil, newCrt, newKey)
	for range 3 {
		c.pollFiles(log)
	}
	if lines := logs.take(); len(lines) != 0 {
		t.Fatalf("polls of the set in use logged %v", lines)
	}
}

// Watch re-reads the files when told (SIGHUP), even a set it refused
// before, and says when nothing changed; it also finds a change by itself.
func TestClusterCertsWatch(t *testing.T) {
	far := time.Now().Add(365 * 24 * time.Hour)
	ca := newTestCA(t, far)
	d := newCertDir(t, "a")
	crt, key := ca.node(t, "a", far)
	d.write(ca.pem(), crt, key)
	c := d.load("b")
	c.poll = time.Hour // only the signal, until the last step
	logs := &logBuffer{}
	// watch runs Watch until the returned stop is called.
	watch := func(reload <-chan os.Signal) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.Watch(ctx, logs.logger(), reload)
		}()
		return func() { cancel(); <-done }
	}
	hup := make(chan os.Signal)
	stop := watch(hup)
	defer func() { stop() }() // the watch running at the end
	testutil.Eventually(t, "the expiries logged at start", func() bool { return logs.count("cluster certificate in use") == 2 })
	logs.take()

	newCrt, newKey := ca.node(t, "a", far)
	d.write(nil, newCrt, newKey)
	hup <- syscall.SIGHUP
	testutil.Eventually(t, "the new set taken on SIGHUP", func() bool { return logs.count(msgReloaded) == 1 })
	// The new certificate's expiry is logged as it comes into use.
	testutil.Eventually(t, "the new certificate's expiry", func() bool { return logs.count("cluster certificate in use") == 1 })
	logs.take()
	hup <- syscall.SIGHUP
	testutil.Eventually(t, "unchanged said on SIGHUP", func() bool { return logs.count(msgUnchanged) == 1 })

	forB, forBKey := ca.node(t, "b", far)
	d.write(nil, forB, forBKey)
	hup <- syscall.SIGHUP
	hup <- syscall.SIGHUP
	testutil.Eventually(t, "a refusal on each SIGHUP", func() bool { return logs.count(msgRefused) == 2 })
	if st := c.Status(); st.Refused != 2 || st.Reloads != 1 {
		t.Fatalf("status %+v, want 2 refused, 1 taken", st)
	}

	// Polling, in a second watch: the next good set is found without a signal.
	stop()
	c.poll = 10 * time.Millisecond
	stop = watch(nil)
	logs.take()
	third, thirdKey := ca.node(t, "a", far)
	d.write(nil, third, thirdKey)
	testutil.Eventually(t, "the new set found by polling", func() bool { return logs.count(msgReloaded) == 1 })
	if st := c.Status(); st.Reloads != 2 {
		t.Fatalf("status %+v, want 2 taken", st)
	}
}

// Expiry is logged at start, then daily under 30 days left and hourly
// under 7, at WARN; once expired, hourly at ERROR; for the node's
// certificate and the CA alike.
func TestClusterCertsExpiryLog(t *testing.T) {
	start := time.Now()
	ca := newTestCA(t, start.Add(5*24*time.Hour))
	d := newCertDir(t, "a")
	crt, key := ca.node(t, "a", start.Add(40*24*time.Hour))
	d.write(ca.pem(), crt, key)
	c := d.load("b")
	var now atomic.Pointer[time.Time]
	now.Store(&start)
	c.now = func() time.Time { return *now.Load() }
	logs := &logBuffer{}
	log := logs.logger()
	// at moves the clock to start+d, checks, and returns what was logged as
	// "LEVEL cert days_left" (whole days, toward zero).
	at := func(d time.Duration) []string {
		t := start.Add(d)
		now.Store(&t)
		c.checkExpiry(log)
		var out []string
		for _, l := range logs.take() {
			out = append(out, fmt.Sprintf("%s %s %d", l["level"], l["cert"], int(l["days_left"].(float64))))
		}
		return out
	}
	day := 24 * time.Hour
	// The CA expires on day 5: hourly ERROR from then; checked apart below.
	steps := []struct {
		at   time.Duration
		want string
	}{
		{0, "INFO node 40|WARN ca 5"},
		{time.Minute, ""},
		{59 * time.Minute, ""},
		{time.Hour, "WARN ca 5"},
		{5*day + time.Minute, "ERROR ca 0"},
		{5*day + 30*time.Minute, ""},
		{5*day + 61*time.Minute, "ERROR ca 0"},
		{11 * day, "WARN node 29|ERROR ca -6"},
		{11*day + 23*time.Hour, "ERROR ca -7"},
		{12 * day, "WARN node 28|ERROR ca -7"},
		{33*day + 12*time.Hour, "WARN node 6|ERROR ca -28"},
		{33*day + 12*time.Hour + 59*time.Minute, ""},
		{33*day + 13*time.Hour, "WARN node 6|ERROR ca -28"},
		{40*day + time.Minute, "ERROR node 0|ERROR ca -35"},
		{40*day + 30*time.Minute, ""},
	}
	for _, s := range steps {
		got := strings.Join(at(s.at), "|")
		if got != s.want {
			t.Errorf("at +%v logged %q, want %q", s.at, got, s.want)
		}
	}
}
