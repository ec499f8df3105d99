package wsclient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
)

// scrollSink is a WebSocket server that welcomes every reader and notes
// when each of its scrolls arrived and what time the position encoded.
type scrollSink struct {
	mu    sync.Mutex
	recvs map[string][]scrollRecv
}

type scrollRecv struct {
	at     time.Time
	sentMs int
}

func newScrollSink(t *testing.T) (*scrollSink, string) {
	t.Helper()
	s := &scrollSink{recvs: map[string][]scrollRecv{}}
	up := websocket.Upgrader{}
	var n sync.Mutex
	next := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		n.Lock()
		id := fmt.Sprintf("r%d", next)
		next++
		n.Unlock()
		if ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"welcome","you":{"id":%q},"readers":[]}`, id)) != nil {
			return
		}
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			at := time.Now()
			var m struct {
				Type     string  `json:"type"`
				Position float64 `json:"position"`
			}
			if json.Unmarshal(b, &m) != nil || m.Type != "scroll" {
				t.Errorf("not a scroll: %q", b)
				return
			}
			ms, ok := protocol.MillisOf(m.Position)
			if !ok {
				t.Errorf("position %v encodes no time", m.Position)
				return
			}
			s.mu.Lock()
			s.recvs[id] = append(s.recvs[id], scrollRecv{at, ms})
			s.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *scrollSink) snapshot() map[string][]scrollRecv {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]scrollRecv, len(s.recvs))
	for id, rs := range s.recvs {
		out[id] = append([]scrollRecv(nil), rs...)
	}
	return out
}

// The scrollers send each reader's scrolls at the plan's rate, from spread
// phases, each encoding the time it was sent, and stop with the engine.
func TestScrollersKeepRateAndSendTimes(t *testing.T) {
	t.Parallel()
	sink, url := newScrollSink(t)
	const readers, rate = 40, 10.0
	now := time.Now()
	e := New(Plan{Workers: 1, Conns: readers, Start: now, Rate: rate,
		Targets: []string{url}, Slugs: []string{"p"}, Deadline: now.Add(time.Minute)})
	e.Start()
	stopped := false
	defer func() {
		if !stopped {
			e.Stop()
		}
	}()
	waitFor(t, 10*time.Second, func() bool { return e.welcomed.Load() == readers }, "every reader welcomed")
	// Measure over a window that starts once every reader scrolls.
	waitFor(t, 10*time.Second, func() bool { return len(sink.snapshot()) == readers }, "every reader scrolling")
	before := sink.snapshot()
	const window = 2 * time.Second
	time.Sleep(window) // the span measured, not a wait for an event
	after := sink.snapshot()
	st := e.Stop()
	stopped = true

	var firsts []time.Time
	for id, rs := range after {
		got := len(rs) - len(before[id])
		// 20 due in the window; a starved machine may skip some, none
		// may come in a burst.
		if want := int(window.Seconds() * rate); got > want+2 || got < want/2 {
			t.Errorf("%s: %d scrolls in %v, want about %d", id, got, window, want)
		}
		for _, r := range rs {
			if d := protocol.LatencyMillis(r.at.UnixMilli(), r.sentMs); d > 2000 {
				t.Errorf("%s: a scroll arrived %d ms after the time it encodes", id, d)
			}
		}
		firsts = append(firsts, before[id][0].at)
	}
	// Phases are random over the period: the first scrolls do not all
	// arrive within a few milliseconds of each other.
	lo, hi := firsts[0], firsts[0]
	for _, f := range firsts {
		if f.Before(lo) {
			lo = f
		}
		if f.After(hi) {
			hi = f
		}
	}
	if hi.Sub(lo) < 20*time.Millisecond {
		t.Errorf("first scrolls of %d readers within %v: phases not spread", readers, hi.Sub(lo))
	}
	total := 0
	for _, rs := range after {
		total += len(rs)
	}
	if st.Total.FramesSent < int64(total) {
		t.Errorf("counted %d scrolls sent, the server got %d", st.Total.FramesSent, total)
	}
	// Stopped: no more scrolls.
	final := sink.snapshot()
	time.Sleep(300 * time.Millisecond) // three periods in which nothing may come
	for id, rs := range sink.snapshot() {
		if len(rs) != len(final[id]) {
			t.Errorf("%s: %d scrolls after the stop", id, len(rs)-len(final[id]))
		}
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
