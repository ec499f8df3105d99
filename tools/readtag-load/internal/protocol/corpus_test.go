package protocol

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/internal/testserver"
)

// testdata/frames.txt holds real frames from readtag (welcome, join, leave,
// moves, crowd and error), one per line after the receiving reader's id and
// a tab; testdata/frames.golden holds what ParseFrame made of each when the
// corpus was captured. -update-corpus captures a new corpus from a live
// server and writes both files with the parser of the day.
var updateCorpus = flag.Bool("update-corpus", false, "capture testdata/frames.txt from a live server and rewrite testdata/frames.golden")

const corpusPath, goldenPath = "testdata/frames.txt", "testdata/frames.golden"

type corpusFrame struct{ self, data []byte }

func loadCorpus(tb testing.TB) []corpusFrame {
	tb.Helper()
	b, err := os.ReadFile(corpusPath)
	if err != nil {
		tb.Fatal(err)
	}
	var fs []corpusFrame
	for line := range bytes.Lines(b) {
		self, data, ok := bytes.Cut(bytes.TrimSuffix(line, []byte("\n")), []byte("\t"))
		if !ok {
			tb.Fatalf("corpus line without a tab: %q", line)
		}
		fs = append(fs, corpusFrame{self, data})
	}
	return fs
}

// summary is everything the tool takes from a parsed frame.
func summary(f *Frame, err error) string {
	if err != nil {
		return "error " + err.Error()
	}
	return fmt.Sprintf("typ=%q you=%q reader=%q id=%q err=%q esc=%v readers=%d/%x moves=%d own=%d sent=%v total=%d/%v join=%d/%x leave=%d/%x",
		f.Type, f.You, f.Reader, f.ID, f.ErrText, f.ErrEsc, f.Readers, f.ReadersX, f.Moves, f.Own, f.Sent,
		f.Total, f.HasTotal, f.JoinN, f.JoinX, f.LeaveN, f.LeaveX)
}

// TestParseCorpus: the parser reads every real frame as it did when the
// corpus was captured.
func TestParseCorpus(t *testing.T) {
	if *updateCorpus {
		captureCorpus(t)
	}
	frames := loadCorpus(t)
	golden, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(golden), "\n"), "\n")
	if len(want) != len(frames) {
		t.Fatalf("%d frames, %d golden lines", len(frames), len(want))
	}
	types := map[string]int{}
	var f Frame
	for i, fr := range frames {
		err := ParseFrame(fr.data, fr.self, &f)
		if got := summary(&f, err); got != want[i] {
			t.Errorf("frame %d: %s\n got %s\nwant %s", i, fr.data, got, want[i])
		}
		types[string(f.Type)]++
	}
	for _, typ := range []string{"welcome", "join", "moves", "crowd", "error"} {
		if types[typ] == 0 {
			t.Errorf("the corpus has no %s frame: %v", typ, types)
		}
	}
}

// BenchmarkParseCorpus parses the corpus's frames in turn: all of them,
// and the crowd frames alone (what a hot post's readers get).
func BenchmarkParseCorpus(b *testing.B) {
	all := loadCorpus(b)
	var crowd []corpusFrame
	for _, fr := range all {
		if bytes.HasPrefix(fr.data, []byte(`{"type":"crowd"`)) {
			crowd = append(crowd, fr)
		}
	}
	for _, bc := range []struct {
		name   string
		frames []corpusFrame
	}{{"all", all}, {"crowd", crowd}} {
		b.Run(bc.name, func(b *testing.B) {
			var f Frame
			n := 0
			for _, fr := range bc.frames {
				n += len(fr.data)
			}
			b.SetBytes(int64(n / len(bc.frames)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				fr := bc.frames[i%len(bc.frames)]
				_ = ParseFrame(fr.data, fr.self, &f)
			}
		})
	}
}

// captureCorpus records the frames a few of 80 scrolling readers of one
// post get from a live server: welcomes, joins and moves while the post
// fills, its crowd frames after, a leave and an error frame.
func captureCorpus(t *testing.T) {
	url := testserver.Start(t, testserver.LogLevel(slog.LevelError)).URL
	const readers, recorders = 80, 2
	var mu sync.Mutex
	var out bytes.Buffer
	var golden bytes.Buffer
	var f Frame
	record := func(self string, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		if bytes.ContainsAny(data, "\t\n") {
			t.Fatalf("a frame with a tab or newline: %q", data)
		}
		fmt.Fprintf(&out, "%s\t%s\n", self, data)
		fmt.Fprintln(&golden, summary(&f, ParseFrame(data, []byte(self), &f)))
	}
	stop := make(chan struct{})
	for i := range readers {
		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/ws/posts/how-readtag-works", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		var self string
		go func() {
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if self == "" {
					var w Frame
					_ = ParseFrame(data, nil, &w)
					self = string(w.You)
				}
				if i < recorders {
					record(self, data)
				}
			}
		}()
		go func() {
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				msg := AppendScroll(nil, PositionFor(time.Now().UnixMilli()))
				if i == 0 && n == 3 {
					msg = []byte(`{"type":"scroll","position":2}`) // an error frame
				}
				if ws.WriteMessage(websocket.TextMessage, msg) != nil {
					return
				}
			}
		}()
		if i == 30 || i == readers-1 {
			_ = ws.Close() // a leave, then a crowd frame's leave list
		}
		time.Sleep(10 * time.Millisecond) // a ramp, so the recorders see joins
	}
	time.Sleep(time.Second) // crowd frames to record
	close(stop)
	mu.Lock()
	defer mu.Unlock()
	if err := os.WriteFile(corpusPath, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenPath, golden.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
