package actors

import (
	"testing"

	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/readtag/readtag/actors/clusterpb"
)

// TestUnknownBodyKeepsLink is the rolling-upgrade rule: a newer node adds a
// kind of message as a new field of Envelope's oneof, and an older node must
// still decode the Envelope (Hollywood closes the whole link on a message it
// cannot decode) and skip the body it does not know.
func TestUnknownBodyKeepsLink(t *testing.T) {
	old, err := proto.Marshal(&clusterpb.Envelope{Node: "b", Incarnation: 7})
	if err != nil {
		t.Fatal(err)
	}
	// What a newer readtag might send: field 99, a message we do not know.
	newer := protowire.AppendTag(old, 99, protowire.BytesType)
	newer = protowire.AppendBytes(newer, []byte{0x0a, 0x03, 'h', 'i', '!'})

	msg, err := remote.ProtoSerializer{}.Deserialize(newer, "readtag.cluster.v1.Envelope")
	if err != nil {
		t.Fatalf("Hollywood's deserializer rejects an Envelope with a new body (the link would close): %v", err)
	}
	env := msg.(*clusterpb.Envelope)
	if env.GetNode() != "b" || env.GetIncarnation() != 7 || env.GetBody() != nil {
		t.Fatalf("decoded %v", env)
	}
	// The tracker skips it and keeps its state.
	tr := &tracker{sys: &system{}, peers: map[string]*peerState{"b": {incarnation: 7, synced: true, seq: 3, readers: map[string]remoteEntry{}}}}
	tr.receive(nil, env)
	if p := tr.peers["b"]; !p.synced || p.seq != 3 {
		t.Errorf("an unknown body changed the peer's state: %+v", p)
	}
}
