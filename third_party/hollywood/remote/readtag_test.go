package remote

// READTAG PATCH: tests of the patched stream reader (not in upstream).

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"google.golang.org/protobuf/proto"
)

// counter counts the messages it receives.
type counter struct{ n *atomic.Int64 }

func (c counter) Receive(ctx *actor.Context) {
	if _, ok := ctx.Message().(*TestMessage); ok {
		c.n.Add(1)
	}
}

func newReaderUnderTest(t testing.TB, auth AuthorizeFunc) (*streamReader, *actor.PID, *atomic.Int64) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	n := &atomic.Int64{}
	pid := e.Spawn(func() actor.Receiver { return counter{n} }, "counter")
	r := New("127.0.0.1:0", NewConfig().WithAuthorize(auth))
	r.engine = e
	return newStreamReader(r), pid, n
}

func validEnvelope(t testing.TB, target *actor.PID) *Envelope {
	data, err := proto.Marshal(&TestMessage{Data: []byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	return &Envelope{
		TypeNames: []string{"remote.TestMessage"},
		Targets:   []*actor.PID{target},
		Senders:   []*actor.PID{actor.NewPID("127.0.0.1:1", "sender")},
		Messages:  []*Message{{Data: data}},
	}
}

// TestDeliverChecksIndexes: upstream v1.0.5 panicked (and the process died)
// on any index out of range; now such a message is dropped and the others
// in the envelope are delivered.
func TestDeliverChecksIndexes(t *testing.T) {
	sr, pid, n := newReaderUnderTest(t, nil)
	env := validEnvelope(t, pid)
	good := env.Messages[0]
	env.Messages = []*Message{
		{Data: good.Data, TypeNameIndex: 1},
		{Data: good.Data, TypeNameIndex: -1},
		{Data: good.Data, TargetIndex: 3},
		{Data: good.Data, SenderIndex: 1 << 30},
		{Data: []byte{0xff, 0xff}}, // truncated
		good,
	}
	sr.deliver(PeerInfo{}, env)
	env.TypeNames[0] = "no.such.Type"
	sr.deliver(PeerInfo{}, env)
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d messages, want 1", n.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeliverAsksAuthorize(t *testing.T) {
	var asked atomic.Int64
	sr, pid, n := newReaderUnderTest(t, func(peer PeerInfo, target, sender *actor.PID, msg any) bool {
		asked.Add(1)
		return false
	})
	sr.deliver(PeerInfo{}, validEnvelope(t, pid))
	if asked.Load() != 1 || n.Load() != 0 {
		t.Fatalf("asked %d, delivered %d; want 1 and 0", asked.Load(), n.Load())
	}
}

// FuzzStreamReader feeds arbitrary bytes, decoded as an Envelope, to the
// stream reader's delivery: it must never panic.
func FuzzStreamReader(f *testing.F) {
	sr, pid, _ := newReaderUnderTest(f, nil)
	seed := validEnvelope(f, pid)
	b, _ := proto.Marshal(seed)
	f.Add(b)
	seed.Messages[0].TypeNameIndex = 5
	b, _ = proto.Marshal(seed)
	f.Add(b)
	seed.Messages[0].TargetIndex, seed.Messages[0].TypeNameIndex = -1, 0
	b, _ = proto.Marshal(seed)
	f.Add(b)
	f.Add([]byte{0x0a, 0x05, 'a', 'c', 't', 'o', 'r'})
	f.Fuzz(func(t *testing.T, data []byte) {
		var env Envelope
		if proto.Unmarshal(data, &env) != nil {
			return
		}
		sr.deliver(PeerInfo{}, &env)
	})
}
