package testserver

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestStartServesTheEmbeddedPosts(t *testing.T) {
	s := Start(t, LogLevel(slog.LevelError))
	if code, body := get(t, s.URL+"/posts/reading-together"); code != http.StatusOK || !strings.Contains(body, "<article") {
		t.Errorf("GET /posts/reading-together: %d", code)
	}
	if code, body := get(t, s.URL+"/healthz"); code != http.StatusOK || !strings.Contains(body, `"ready":true`) {
		t.Errorf("GET /healthz: %d %s", code, body)
	}
	s.Stop()
	s.Stop()
	if _, err := http.Get(s.URL + "/healthz"); err == nil {
		t.Error("the server answers after Stop")
	}
	if logs := s.Logs.String(); strings.Contains(logs, `"level":"INFO"`) || strings.Contains(logs, `"level":"DEBUG"`) {
		t.Errorf("lines below the error level were logged:\n%s", logs)
	}
}

func TestStartAgainOnTheSameAddr(t *testing.T) {
	addr := testutil.FreeAddr(t)
	first := Start(t, Addr(addr))
	if first.Addr != addr || first.URL != "http://"+addr {
		t.Fatalf("listening on %s (%s), want %s", first.Addr, first.URL, addr)
	}
	first.Stop()
	second := Start(t, Addr(addr))
	if code, _ := get(t, second.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz after the restart: %d", code)
	}
}

type countingListener struct {
	net.Listener
	accepted *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

func TestOptions(t *testing.T) {
	var accepted atomic.Int32
	var configured []string
	logs := &testutil.SyncBuffer{}
	s := Start(t,
		Posts(fstest.MapFS{"only.md": {Data: []byte("---\ntitle: Only\ndate: 2026-01-02\nsummary: The one.\n---\n\nText.\n")}}),
		Configure(func(w *web.Config, a *actors.Config) {
			if w.Posts == nil || a.Logger == nil {
				t.Error("Configure ran before the defaults were filled in")
			}
			configured = append(configured, "first")
		}),
		Configure(func(*web.Config, *actors.Config) { configured = append(configured, "second") }),
		Logs(logs),
		WrapListener(func(ln net.Listener) net.Listener { return countingListener{ln, &accepted} }),
	)
	if strings.Join(configured, ",") != "first,second" {
		t.Errorf("Configure ran as %v, want first then second", configured)
	}
	if code, _ := get(t, s.URL+"/posts/only"); code != http.StatusOK {
		t.Errorf("GET /posts/only: %d", code)
	}
	if code, _ := get(t, s.URL+"/posts/reading-together"); code != http.StatusNotFound {
		t.Errorf("GET of an embedded post with Posts set: %d, want 404", code)
	}
	if accepted.Load() == 0 {
		t.Error("the wrapping listener accepted nothing")
	}
	s.Stop()
	if s.Logs != logs || logs.String() == "" {
		t.Error("the log did not go to the buffer given")
	}
}
