package actors

import (
	"net"
	"testing"
	"time"
)

// A peer within its budget loses nothing; past its burst its messages are
// dropped and counted; still over it after the grace, its connections are
// closed and it is refused until the cooldown ends, then starts afresh.
func TestBudgetDropsThenCutsOffThenReadmits(t *testing.T) {
	stats := &clusterStats{}
	bs := newBudgets(BudgetConfig{Messages: 100, Bytes: 1 << 20, Grace: 50 * time.Millisecond, Cooldown: 2 * time.Second}, stats)
	ours, theirs := net.Pipe()
	defer theirs.Close()
	if !bs.admit("c", ours) {
		t.Fatal("c refused at first")
	}
	if n, cut := bs.messages("c", 2*budgetBurst*100); n != budgetBurst*100 || cut {
		t.Fatalf("burst: %d allowed (cut %v), want %d", n, cut, budgetBurst*100)
	}
	if got := stats.budgetDropped.Load(); got != budgetBurst*100 {
		t.Fatalf("%d dropped, want %d", got, budgetBurst*100)
	}
	if n, _ := bs.messages("b", 10); n != 10 {
		t.Fatalf("b, within its own budget, got %d of 10 through", n)
	}
	start := time.Now()
	cut := false
	for !cut && time.Since(start) < 5*time.Second {
		_, cut = bs.messages("c", 1000)
		time.Sleep(5 * time.Millisecond)
	}
	if !cut {
		t.Fatal("c, over its budget, never cut off")
	}
	if _, err := ours.Write([]byte{1}); err == nil {
		t.Fatal("c's connection still open after the cut")
	}
	again, _ := net.Pipe()
	if bs.admit("c", again) || stats.budgetRefused.Load() != 1 || stats.budgetDisconnects.Load() != 1 {
		t.Fatalf("during the cooldown: refused %d, disconnects %d", stats.budgetRefused.Load(), stats.budgetDisconnects.Load())
	}
	eventually(t, "c let back in after the cooldown", func() bool { return bs.admit("c", again) })
	if n, _ := bs.messages("c", 50); n != 50 {
		t.Fatalf("after the cooldown %d of 50 allowed", n)
	}
}

// Bytes past the budget make the reader wait: the debt's time at the rate.
func TestBudgetThrottlesBytes(t *testing.T) {
	stats := &clusterStats{}
	bs := newBudgets(BudgetConfig{Messages: 100, Bytes: 1000, Grace: time.Hour}, stats)
	if wait, _ := bs.read("c", budgetBurst*1000); wait != 0 {
		t.Fatalf("the burst waits %v", wait)
	}
	wait, cut := bs.read("c", 500)
	if wait < 400*time.Millisecond || wait > 500*time.Millisecond || cut {
		t.Fatalf("500 bytes past the burst at 1000/s: wait %v (cut %v), want about 500ms", wait, cut)
	}
	if stats.budgetThrottled.Load() != 1 {
		t.Fatalf("throttled %d", stats.budgetThrottled.Load())
	}
}

// A forgotten node's budget goes once nothing holds it: at once when it has
// no connection, at its last connection's close otherwise, and never during
// a cooldown (being forgotten must not shed a ban). A node that comes back
// before that keeps its entry. Budgets of other nodes stay.
func TestBudgetForgetsForgottenNodes(t *testing.T) {
	bs := newBudgets(BudgetConfig{Messages: 100, Bytes: 1 << 20, Grace: time.Nanosecond, Cooldown: 200 * time.Millisecond}, nil)
	has := func(key string) bool {
		bs.mu.Lock()
		defer bs.mu.Unlock()
		_, ok := bs.peers[key]
		return ok
	}
	bs.messages("idle", 1)
	bs.messages("b", 1)
	bs.forget("idle")
	if has("idle") || !has("b") {
		t.Fatalf("after forgetting idle: idle kept %v, b kept %v", has("idle"), has("b"))
	}

	conn, other := net.Pipe()
	defer other.Close()
	bs.admit("c,c.example", conn)
	bs.forget("c")
	if !has("c,c.example") {
		t.Fatal("c dropped while a connection of it is open")
	}
	bs.release("c,c.example", conn)
	if has("c,c.example") {
		t.Fatal("c kept after its last connection closed")
	}

	back, other2 := net.Pipe()
	defer other2.Close()
	bs.admit("d", back)
	bs.forget("d")
	again, other3 := net.Pipe()
	defer other3.Close()
	bs.admit("d", again) // d is back before its first connection closed
	bs.release("d", back)
	if !has("d") {
		t.Fatal("d, back and connected, lost its budget")
	}
	bs.release("d", again)

	for i := 0; ; i++ {
		if _, cut := bs.messages("e", 10*budgetBurst*100); cut {
			break
		}
		if i > 1000 {
			t.Fatal("e never cut off")
		}
	}
	bs.forget("e")
	if !has("e") {
		t.Fatal("e dropped during its cooldown")
	}
	fresh, other4 := net.Pipe()
	defer other4.Close()
	if bs.admit("e", fresh) {
		t.Fatal("e admitted during its cooldown after being forgotten")
	}
	eventually(t, "e dropped once its cooldown is over", func() bool {
		bs.messages("f", 1) // a new identity sweeps
		bs.forget("f")
		return !has("e")
	})
}
