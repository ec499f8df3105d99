package actor

import (
	"sync"
)

const LocalLookupAddr = "local"

// READTAG PATCH: the lookup is a sync.Map (ID -> Processer) instead of a map
// behind one RWMutex. Every Send reads the registry and every Spawn and stop
// writes it; under a join storm (thousands of spawns and stops a second
// while rooms fan out to thousands of readers) the RWMutex's writers and
// readers queued behind each other, the mutex went into starvation mode and
// its hand-offs became most of the scheduler's latency: WebSocket upgrades
// waited seconds in Registry.add. sync.Map reads take no lock and writes to
// different IDs do not contend.
type Registry struct {
	lookup sync.Map // string -> Processer
	engine *Engine
}

func newRegistry(e *Engine) *Registry {
	return &Registry{
		engine: e,
	}
}

// GetPID returns the process id associated for the given kind and its id.
// GetPID returns nil if the process was not found.
func (r *Registry) GetPID(kind, id string) *PID {
	proc := r.getByID(kind + pidSeparator + id)
	if proc != nil {
		return proc.PID()
	}
	return nil
}

// Remove removes the given PID from the registry.
func (r *Registry) Remove(pid *PID) {
	r.lookup.Delete(pid.ID)
}

// get returns the processer for the given PID, if it exists.
// If it doesn't exist, nil is returned so the caller must check for that
// and direct the message to the deadletter processer instead.
func (r *Registry) get(pid *PID) Processer {
	if pid == nil {
		return nil
	}
	if proc, ok := r.lookup.Load(pid.ID); ok {
		return proc.(Processer)
	}
	return nil // didn't find the processer
}

func (r *Registry) getByID(id string) Processer {
	if proc, ok := r.lookup.Load(id); ok {
		return proc.(Processer)
	}
	return nil
}

func (r *Registry) add(proc Processer) {
	id := proc.PID().ID
	if _, loaded := r.lookup.LoadOrStore(id, proc); loaded {
		r.engine.BroadcastEvent(ActorDuplicateIdEvent{PID: proc.PID()})
		return
	}
	proc.Start()
}
