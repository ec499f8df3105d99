package actors

import (
	"sync"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
)

// lateRemote is Hollywood's remote transport, started only when readtag's
// actors are ready for it. actor.NewEngine starts its remote (so accepts
// messages from peers) before it has set up its own event stream; a peer's
// message that arrives then, or before our provider and tracker exist
// (a dead letter), reads the engine's fields while NewEngine still writes
// them: a data race the race detector reports whenever a node starts while
// its peers are already sending. NewEngine gets this wrapper, whose Start
// only records the engine; listen starts the real remote afterwards.
//
// Sends before listen are dropped: Remote.Send reads what Remote.Start
// writes, and our provider's first heartbeat can come first (a heartbeat
// repeats, and nothing else is sent to peers before there are readers).
type lateRemote struct {
	*remote.Remote
	engine  *actor.Engine
	once    sync.Once
	started atomic.Bool
}

func (r *lateRemote) Send(pid *actor.PID, msg any, sender *actor.PID) {
	if r.started.Load() {
		r.Remote.Send(pid, msg, sender)
	}
}

func (r *lateRemote) Start(e *actor.Engine) error {
	r.engine = e
	return nil
}

// listen starts accepting messages from peers.
func (r *lateRemote) listen() error {
	var err error
	r.once.Do(func() {
		if err = r.Remote.Start(r.engine); err == nil {
			r.started.Store(true)
		}
	})
	return err
}
