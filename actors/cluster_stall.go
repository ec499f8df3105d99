package actors

import "time"

// stallWatch lets an actor that judges its peers by their silence (the
// provider, the tracker) notice that it was the one stalled: a long GC
// pause, SIGSTOP, a frozen VM. Before it, a node resumed after SIGSTOP for
// 10 s found every peer silent for 10 s, marked each down or one-way and
// expired its replica before reading the heartbeats already queued for it
// (which, written during the stall, also said the peer no longer heard
// us), and its readers lost every remote ghost and got them back 8–100 ms
// later (1,756–2,732 false leaves).
//
// The sign is the actor's own tick (every Heartbeat, on the monotonic
// clock) coming much later than due. Then, for a grace of Heartbeat +
// PeerTimeout from the resume, no peer is judged worse than it was: what is
// queued is read, our heartbeats reach the peers and theirs say they hear
// us again, and only then does silence count. A peer that really died
// during the stall is found that much later.
type stallWatch struct {
	limit time.Duration // a tick later than this means we were stalled
	grace time.Duration
	last  time.Time // the last tick, the resume, or the start
	until time.Time // peers are not judged worse before this
}

func newStallWatch(cfg ClusterConfig) stallWatch {
	// Half the failure timeout: a stall shorter than that cannot make a
	// peer heard a heartbeat before it look silent for the whole timeout.
	// Twice the heartbeat at least, so that a busy actor's late tick is not
	// taken for one.
	// Counting from now catches a stall before the first tick too.
	return stallWatch{limit: max(2*cfg.Heartbeat, cfg.PeerTimeout/2), grace: cfg.Heartbeat + cfg.PeerTimeout, last: time.Now()}
}

// check notices a stall, on any message: the last tick is older than the
// limit. It reports how long the stall was, once per stall.
func (s *stallWatch) check(now time.Time) (time.Duration, bool) {
	gap := now.Sub(s.last)
	if gap <= s.limit {
		return 0, false
	}
	s.last, s.until = now, now.Add(s.grace)
	return gap, true
}

// tick is check on the actor's own tick, which it records.
func (s *stallWatch) tick(now time.Time) (time.Duration, bool) {
	gap, stalled := s.check(now)
	s.last = now
	return gap, stalled
}

// lenient says whether peers are in their grace after our stall.
func (s *stallWatch) lenient(now time.Time) bool { return now.Before(s.until) }

// worse says whether peer state a is worse than b (up, one-way, down).
func worse(a, b string) bool { return stateRank(a) < stateRank(b) }

func stateRank(s string) int {
	switch s {
	case stateUp:
		return 2
	case stateOneWay:
		return 1
	}
	return 0
}
