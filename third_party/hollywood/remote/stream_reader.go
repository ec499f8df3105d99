package remote

import (
	"context"
	"errors"
	"log/slog"

	"github.com/anthdm/hollywood/actor"
)

type streamReader struct {
	DRPCRemoteUnimplementedServer

	remote       *Remote
	deserializer Deserializer
}

func newStreamReader(r *Remote) *streamReader {
	return &streamReader{
		remote:       r,
		deserializer: ProtoSerializer{},
	}
}

func (r *streamReader) Receive(stream DRPCRemote_ReceiveStream) error {
	defer slog.Debug("streamreader terminated")

	peer := peerFrom(stream.Context())
	for {
		envelope, err := stream.Recv()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				break
			}
			slog.Error("streamReader receive", "err", err)
			return err
		}
		r.deliver(peer, envelope)
	}

	return nil
}

// READTAG PATCH: every index is checked (upstream indexed TypeNames, Targets
// and Senders unchecked: one envelope with an index out of range killed the
// process), and a message that cannot be decoded or is not authorized is
// dropped and logged (rate-limited) instead of closing the whole stream.
func (r *streamReader) deliver(peer PeerInfo, envelope *Envelope) {
	for _, msg := range envelope.Messages {
		tname, ok := index(envelope.TypeNames, msg.TypeNameIndex)
		target, ok2 := index(envelope.Targets, msg.TargetIndex)
		var sender *actor.PID
		ok3 := true
		if len(envelope.Senders) > 0 {
			sender, ok3 = index(envelope.Senders, msg.SenderIndex)
		}
		if !ok || !ok2 || !ok3 || target == nil {
			r.remote.msgLog.warn("remote message dropped: index out of range", "peer", peerAddr(peer))
			continue
		}
		payload, err := r.deserializer.Deserialize(msg.Data, tname)
		if err != nil {
			r.remote.msgLog.warn("remote message dropped: cannot decode", "peer", peerAddr(peer), "type", tname, "err", err)
			continue
		}
		if auth := r.remote.config.Authorize; auth != nil && !auth(peer, target, sender, payload) {
			continue // the hook logs what it refuses
		}
		r.remote.engine.SendLocal(target, payload, sender)
	}
}

func index[T any](s []T, i int32) (T, bool) {
	if i < 0 || int(i) >= len(s) {
		var zero T
		return zero, false
	}
	return s[i], true
}

func peerAddr(p PeerInfo) string {
	if p.Addr == nil {
		return ""
	}
	return p.Addr.String()
}
