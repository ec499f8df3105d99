package web_test

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// indexWatcher is an index page's live channel, as a test sees it.
type indexWatcher struct {
	ws     *websocket.Conn
	mu     sync.Mutex
	counts map[string]int // the latest frame's
	frames int
	err    error // why reading stopped
}

func (ts *testServer) watchIndex(t testing.TB) *indexWatcher {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws/index", http.Header{"Origin": {ts.URL}})
	if err != nil {
		t.Fatalf("dial /ws/index: %v (%v)", err, resp)
	}
	w := &indexWatcher{ws: ws}
	t.Cleanup(func() { _ = ws.Close() })
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
				return
			}
			var f struct {
				Type   string         `json:"type"`
				Counts map[string]int `json:"counts"`
			}
			if err := json.Unmarshal(data, &f); err != nil || f.Type != "counts" || f.Counts == nil {
				w.mu.Lock()
				w.err = errors.New("bad frame: " + string(data))
				w.mu.Unlock()
				return
			}
			w.mu.Lock()
			w.counts, w.frames = f.Counts, w.frames+1
			w.mu.Unlock()
		}
	}()
	eventually(t, "the first counts frame", func() bool { return w.seen() > 0 })
	return w
}

func (w *indexWatcher) seen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames
}

func (w *indexWatcher) closeErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// within polls until the watcher shows want, failing after d: the index
// promises a changed count within two seconds.
func (w *indexWatcher) within(t testing.TB, d time.Duration, want map[string]int) {
	t.Helper()
	start := time.Now()
	for {
		w.mu.Lock()
		got, err := maps.Clone(w.counts), w.err
		w.mu.Unlock()
		if maps.Equal(got, want) {
			t.Logf("index shows %v after %v", want, time.Since(start).Round(time.Millisecond))
			return
		}
		if err != nil || time.Since(start) > d {
			t.Fatalf("index shows %v (err %v) after %v, want %v", got, err, time.Since(start), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestIndexCountsFollowReaders(t *testing.T) {
	ts := startServer(t, nil)
	w := ts.watchIndex(t)
	w.within(t, 0, map[string]int{})

	a := ts.dial(t, "alpha")
	w.within(t, 2*time.Second, map[string]int{"alpha": 1})
	b := ts.dial(t, "alpha")
	ts.dial(t, "beta")
	w.within(t, 2*time.Second, map[string]int{"alpha": 2, "beta": 1})
	late := ts.watchIndex(t) // a new visitor gets the counts at once
	late.within(t, 0, map[string]int{"alpha": 2, "beta": 1})

	_ = a.Close()
	w.within(t, 2*time.Second, map[string]int{"alpha": 1, "beta": 1})
	_ = b.Kill() // gone without a close frame: counted out when the server notices
	w.within(t, 2*time.Second, map[string]int{"beta": 1})
}

func TestIndexCountsAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 2)
	wa, wb := nodes[0].watchIndex(t), nodes[1].watchIndex(t)
	r1 := nodes[0].dial(t, "alpha")
	wb.within(t, 2*time.Second, map[string]int{"alpha": 1})
	r2 := nodes[1].dial(t, "alpha")
	nodes[1].dial(t, "beta")
	wa.within(t, 2*time.Second, map[string]int{"alpha": 2, "beta": 1})
	wb.within(t, 2*time.Second, map[string]int{"alpha": 2, "beta": 1})
	_ = r1.Close()
	wb.within(t, 2*time.Second, map[string]int{"alpha": 1, "beta": 1})
	_ = r2.Close()
	wa.within(t, 2*time.Second, map[string]int{"beta": 1})
	// A node that stops takes its readers out of the other's counts.
	nodes[1].Stop()
	wa.within(t, 5*time.Second, map[string]int{})
}

// TestIndexChannelHostile: the index channel refuses other sites, plain
// GETs and anything a visitor sends; a stopping server closes it with 1001.
func TestIndexChannelHostile(t *testing.T) {
	ts := startServer(t, nil)
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws/index"
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: %v %v, want 403", err, resp)
	}
	if code, _ := ts.get(t, "/ws/index"); code != http.StatusUpgradeRequired {
		t.Errorf("plain GET /ws/index: %d, want 426", code)
	}

	w := ts.watchIndex(t)
	_ = w.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"scroll","position":0.5}`))
	eventually(t, "the socket to close", func() bool { return w.closeErr() != nil })
	var ce *websocket.CloseError
	if !errors.As(w.closeErr(), &ce) || ce.Code != 1008 || ce.Text != "the index channel takes no messages" {
		t.Errorf("index socket after a message: %v, want close 1008 the index channel takes no messages", w.closeErr())
	}
	big := ts.watchIndex(t)
	_ = big.ws.WriteMessage(websocket.BinaryMessage, make([]byte, 4096))
	eventually(t, "the socket to close", func() bool { return big.closeErr() != nil })

	w2 := ts.watchIndex(t)
	ts.Stop()
	eventually(t, "the socket to close", func() bool { return w2.closeErr() != nil })
	if !websocket.IsCloseError(w2.closeErr(), 1001) {
		t.Errorf("index socket at shutdown: %v, want close 1001", w2.closeErr())
	}
}

func TestIndexPageHasBadges(t *testing.T) {
	ts := startServer(t, nil)
	code, body := ts.get(t, "/")
	for _, want := range []string{`data-slug="alpha"`, `class="reading-now" data-readtag-count="/posts/alpha" hidden`, `/static/embed.js?v=`, `async data-page="none"`, `/static/blog.css?v=`} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET /: %d, missing %s", code, want)
		}
	}
}
