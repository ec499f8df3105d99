package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
	"github.com/readtag/readtag/tools/readtag-load/internal/target"
)

// startBare runs the bare server in-process on 127.0.0.1:0 with the given
// liveness timings and returns its URL.
func startBare(t *testing.T, buffers string, pingEvery, pongWait time.Duration, shared bool) string {
	t.Helper()
	return startBareWith(t, newBareServer(bareBufferSets[buffers], pingEvery, pongWait, shared, shared))
}

// startBareWith serves b on 127.0.0.1:0 until the test ends.
func startBareWith(t *testing.T, b *Bare) string {
	t.Helper()
	return testutil.Serve(t, b.Serve, func() error { return b.Shutdown(5 * time.Second) })
}

func dialBare(t *testing.T, base, slug string) *websocket.Conn {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/posts/"+slug, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	return ws
}

// The welcome is a protocol-v1 welcome the tool's parser reads; the server
// pings, and a client that never answers is dropped after the pong wait.
func TestBareServerWelcomePingAndPongWait(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) { testBareLiveness(t, shared) })
	}
}

func testBareLiveness(t *testing.T, shared bool) {
	base := startBare(t, "trimmed", 50*time.Millisecond, 400*time.Millisecond, shared)

	ws := dialBare(t, base, "load-0001")
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var f protocol.Frame
	if err := protocol.ParseFrame(data, nil, &f); err != nil || string(f.Type) != "welcome" || len(f.You) == 0 {
		t.Fatalf("first frame %s: type %q, you %q, err %v; want a welcome", data, f.Type, f.You, err)
	}

	// Answering pings (gorilla's default) keeps the socket open past the
	// pong wait; scrolls are read and dropped.
	var pings atomic.Int32
	ws.SetPingHandler(func(d string) error {
		pings.Add(1)
		return ws.WriteControl(websocket.PongMessage, []byte(d), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for pings.Load() < 12 { // 12 × 50 ms > 400 ms: alive only thanks to pongs
		if time.Now().After(deadline) {
			t.Fatalf("%d pings in 5 s, want 12", pings.Load())
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"scroll","position":0.5}`)); err != nil {
			t.Fatalf("the socket closed while answering pings: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A client that ignores pings and says nothing is closed.
	silent := dialBare(t, base, "load-0002")
	silent.SetPingHandler(func(string) error { return nil })
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := silent.ReadMessage()
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("a silent client was not dropped within 5 s (pong wait 400 ms)")
		}
		break
	}
}

func TestBareServerHTTP(t *testing.T) {
	base := startBare(t, "default", time.Second, 2*time.Second, false)
	ctx := context.Background()
	slugs, err := target.Check(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(slugs) != bareIndexPosts || slugs[0] != "load-0001" || slugs[len(slugs)-1] != "load-1000" {
		t.Fatalf("index lists %d posts (%v … ), want load-0001 to load-1000", len(slugs), slugs[:min(3, len(slugs))])
	}
	if err := target.CheckPost(ctx, base, "anything-at-all"); err != nil {
		t.Error(err)
	}
	for path, want := range map[string]int{"/healthz": 200, "/posts/Not_A_Slug": 404, "/ws/posts/x": 426} {
		status, _, err := target.Get(ctx, base+path)
		if err != nil {
			t.Fatal(err)
		}
		if status != want {
			t.Errorf("GET %s: %d, want %d", path, status, want)
		}
	}
}

// The relay (bare-server --relay-tick) sends each reader crowd frames with
// the others' latest positions, which the tool's parser reads as moves; a
// reader that leaves is never written to again, and hostile scroll frames
// (no position, out of range, not a number) move nobody.
func TestBareRelay(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			b := newBareServer(bareBufferSets["trimmed"], time.Second, 5*time.Second, shared, true)
			b.relay = newRelay(20 * time.Millisecond)
			base := startBareWith(t, b)
			a, c := dialBare(t, base, "load-0001"), dialBare(t, base, "load-0001")
			ids := make([]string, 2)
			for i, ws := range []*websocket.Conn{a, c} {
				_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, data, err := ws.ReadMessage()
				var f protocol.Frame
				if err != nil || protocol.ParseFrame(data, nil, &f) != nil || string(f.Type) != "welcome" {
					t.Fatalf("first frame %s (%v): want a welcome", data, err)
				}
				ids[i] = string(f.You)
			}
			for _, bad := range []string{`{"type":"scroll"}`, `{"type":"scroll","position":7}`, `{"type":"scroll","position":"x"}`, `not json`} {
				if err := c.WriteMessage(websocket.TextMessage, []byte(bad)); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"scroll","position":0.25}`)); err != nil {
				t.Fatal(err)
			}
			for {
				_, data, err := a.ReadMessage()
				if err != nil {
					t.Fatalf("waiting for the other reader's move: %v", err)
				}
				var f protocol.Frame
				if err := protocol.ParseFrame(data, []byte(ids[0]), &f); err != nil {
					t.Fatalf("frame %s: %v", data, err)
				}
				if string(f.Type) != "crowd" || f.Moves == 0 {
					continue
				}
				if !strings.Contains(string(data), `{"id":"`+ids[1]+`","position":0.25}`) {
					t.Fatalf("crowd frame %s: want %s at 0.25 (and nothing from the hostile frames)", data, ids[1])
				}
				break
			}
			// The mover leaves; the relay keeps serving the other.
			_ = c.Close()
			deadline := time.Now().Add(5 * time.Second)
			for {
				b.relay.mu.Lock()
				n := len(b.relay.socks)
				b.relay.mu.Unlock()
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d readers relayed 5 s after one left, want 1", n)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
