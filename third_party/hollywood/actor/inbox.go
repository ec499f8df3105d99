package actor

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/anthdm/hollywood/ringbuffer"
)

const (
	defaultThroughput = 300
	messageBatchSize  = 1024 * 4
)

const (
	stopped int32 = iota
	starting
	idle
	running
)

type Scheduler interface {
	Schedule(fn func())
	Throughput() int
}

type goscheduler int

func (goscheduler) Schedule(fn func()) {
	go fn()
}

func (sched goscheduler) Throughput() int {
	return int(sched)
}

func NewScheduler(throughput int) Scheduler {
	return goscheduler(throughput)
}

type Inboxer interface {
	Send(Envelope)
	Start(Processer)
	Stop() error
}

type Inbox struct {
	rb         *ringbuffer.RingBuffer[Envelope]
	proc       Processer
	scheduler  Scheduler
	procStatus int32
}

func NewInbox(size int) *Inbox {
	return &Inbox{
		rb:         ringbuffer.New[Envelope](int64(size)),
		scheduler:  NewScheduler(defaultThroughput),
		procStatus: stopped,
	}
}

func (in *Inbox) Send(msg Envelope) {
	in.rb.Push(msg)
	in.schedule()
}

func (in *Inbox) schedule() {
	if atomic.CompareAndSwapInt32(&in.procStatus, idle, running) {
		in.scheduler.Schedule(in.process)
	}
}

func (in *Inbox) process() {
	in.run()
	if atomic.CompareAndSwapInt32(&in.procStatus, running, idle) && in.rb.Len() > 0 {
		// messages might have been added to the ring-buffer between the last pop and the transition to idle.
		// if this is the case, then we should schedule again
		in.schedule()
	}
}

// READTAG PATCH: run pops each batch into a slice taken from batchPool for
// the run and given back after it, instead of a new slice a batch (PopN):
// an actor's every wake-up allocated one. The slice is cleared after
// Invoke, so it pins no message; Invoke does not keep it (a process that
// panics copies what it did not handle into its mbuffer). A slice grown
// past maxPooledBatch is left to the GC, so a burst does not keep a big one
// alive. The inbox itself holds none: an idle actor costs no more memory.
func (in *Inbox) run() {
	bp := batchPool.Get().(*[]Envelope)
	defer putBatch(bp)
	i, t := 0, in.scheduler.Throughput()
	for atomic.LoadInt32(&in.procStatus) != stopped {
		if i > t {
			i = 0
			runtime.Gosched()
		}
		i++

		msgs, ok := in.rb.PopNInto(*bp, messageBatchSize)
		*bp = msgs
		if !ok || len(msgs) == 0 {
			return
		}
		in.proc.Invoke(msgs)
		clear(msgs)
	}
}

// READTAG PATCH: the pool of run's batch slices, and the largest kept.
const maxPooledBatch = 256

var batchPool = sync.Pool{New: func() any { return new([]Envelope) }}

func putBatch(bp *[]Envelope) {
	clear(*bp) // if Invoke panicked out of run
	if cap(*bp) > maxPooledBatch {
		*bp = nil
	}
	batchPool.Put(bp)
}

func (in *Inbox) Start(proc Processer) {
	// transition to "starting" and then "idle" to ensure no race condition on in.proc
	if atomic.CompareAndSwapInt32(&in.procStatus, stopped, starting) {
		in.proc = proc
		atomic.SwapInt32(&in.procStatus, idle)
		in.schedule()
	}
}

func (in *Inbox) Stop() error {
	atomic.StoreInt32(&in.procStatus, stopped)
	return nil
}
