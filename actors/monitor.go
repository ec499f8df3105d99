package actors

import (
	"strings"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag/internal/ratelog"
)

// watch asks the monitor to send msg to notify once target has stopped. If
// target is already gone, msg is sent at once.
type watch struct {
	target *actor.PID
	notify *actor.PID
	msg    any
}

func (w watch) traceInfo() (reader, post string, summary []any) {
	reader, post, _ = traceOf(w.msg)
	return reader, post, []any{"target", w.target.ID, "then", typeName(w.msg)}
}

// monitor stands in for Erlang's process monitors, which Hollywood lacks: it
// subscribes to the engine's event stream and, when a watched actor stops
// (a connection closed, a reader or room failed), tells whoever asked. It
// also puts the failures Hollywood v1.0.5 does not log on the log.
type monitor struct {
	sys     *system
	log     *ratelog.Logger
	watches map[string][]watch // by target PID ID
}

func newMonitor(sys *system) actor.Producer {
	return func() actor.Receiver {
		return &monitor{sys: sys, log: ratelog.New(sys.log, 0), watches: make(map[string][]watch)}
	}
}

func (m *monitor) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		c.Engine().Subscribe(c.PID())
	case actor.Stopped:
		// A subscriber that stops without unsubscribing makes v1.0.5 loop
		// on dead letters forever; unsubscribe with the same *PID.
		c.Engine().Unsubscribe(c.PID())
	case watch:
		// Hollywood unregisters an actor before it publishes the stop
		// event, so a target seen alive here will still report its stop.
		if !alive(c.Engine(), msg.target) {
			m.notify(c, msg)
			return
		}
		m.watches[msg.target.ID] = append(m.watches[msg.target.ID], msg)
	case actor.ActorStoppedEvent:
		ws, ok := m.watches[msg.PID.ID]
		if !ok {
			return
		}
		delete(m.watches, msg.PID.ID)
		for _, w := range ws {
			m.notify(c, w)
		}
	case actor.DeadLetterEvent:
		m.sys.deadLetters.Add(1)
		// A room may still send to a connection whose socket just closed,
		// before the room hears of it: routine, so debug. So is anything
		// lost while the engine shuts down (actors stop in an order, and
		// v1.0.5 sends a subscriber that just stopped the stop events of
		// the others). Anything else is a message lost for a reason worth
		// a warning.
		// A peer's flood can make a dead letter of each of its messages
		// (200,001 warnings in 2 s, issue 20): rate-limited per type.
		if strings.HasPrefix(msg.Target.GetID(), kindConn+"/") || m.sys.closing.Load() {
			m.sys.log.Debug("dead letter", "target", pidString(msg.Target), "from", pidString(msg.Sender), "type", typeName(msg.Message))
			return
		}
		m.log.Warn("dead letter/"+typeName(msg.Message), "dead letter",
			"target", pidString(msg.Target), "from", pidString(msg.Sender), "type", typeName(msg.Message))
	case actor.RemoteUnreachableEvent:
		if m.sys.closing.Load() {
			// This node is leaving: its peers are not the news.
			m.sys.log.Debug("remote unreachable", "addr", msg.ListenAddr)
			return
		}
		m.log.Warn("", "remote unreachable", "addr", msg.ListenAddr)
	}
}

// notify delivers a watch's message unless its recipient has stopped too
// (a room that emptied, say), which would only make a dead letter.
func (m *monitor) notify(c *actor.Context, w watch) {
	if alive(c.Engine(), w.notify) {
		c.Send(w.notify, w.msg)
	}
}

func pidString(pid *actor.PID) string {
	if pid == nil {
		return ""
	}
	return pid.String()
}
