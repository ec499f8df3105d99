package readtag

import "testing"

// An update made by NewCrowd starts with empty lists; Recycle clears the
// update (a second call is a no-op) and keeps only short arrays, cleared.
func TestCrowdRecycle(t *testing.T) {
	u := NewCrowd()
	if len(u.Join)+len(u.Leave)+len(u.Moves) != 0 {
		t.Fatalf("new update has lists %v %v %v", u.Join, u.Leave, u.Moves)
	}
	u.Join = append(u.Join, Reader{ID: "a"})
	u.Moves = append(u.Moves, Move{ID: "a", Position: 0.5})
	moves := u.Moves
	u.Recycle()
	if u.Join != nil || u.Leave != nil || u.Moves != nil || u.lists != nil {
		t.Errorf("recycled update still holds its lists: %+v", u)
	}
	u.Recycle()
	if moves[:1][0] != (Move{}) {
		t.Errorf("a recycled array still holds %+v", moves[0])
	}
	if got := pooled(make([]Move, 3, maxPooledList+1)); got != nil {
		t.Errorf("an array of %d went back to the pool", maxPooledList+1)
	}
	if got := pooled(make([]Move, 3, 8)); len(got) != 0 || cap(got) != 8 {
		t.Errorf("pooled kept len %d cap %d, want 0 and 8", len(got), cap(got))
	}
	var plain Crowd // not from NewCrowd: nothing to give back
	plain.Moves = []Move{{ID: "b"}}
	plain.Recycle()
	if len(plain.Moves) != 1 {
		t.Errorf("Recycle touched an update not made by NewCrowd")
	}
}
