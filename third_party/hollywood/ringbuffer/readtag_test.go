package ringbuffer

import "testing"

// READTAG PATCH: PopNInto, checked against PopN on the same sequence of
// pushes and pops: wrap-around, growth, batches bigger than what is queued,
// and the cleared slots.
func TestPopNIntoMatchesPopN(t *testing.T) {
	a, b := New[*Item](4), New[*Item](4)
	var dst []*Item
	next, want := 0, 0
	for round := 0; round < 300; round++ {
		for k := 0; k < round%11; k++ {
			a.Push(&Item{next})
			b.Push(&Item{next})
			next++
		}
		n := int64(round%7 + 1)
		got, okA := a.PopNInto(dst, n)
		exp, okB := b.PopN(n)
		if okA != okB || len(got) != len(exp) {
			t.Fatalf("round %d: PopNInto gave %d items (%v), PopN %d (%v)", round, len(got), okA, len(exp), okB)
		}
		for i := range got {
			if got[i].i != want || exp[i].i != want {
				t.Fatalf("round %d: item %d is %d (PopN %d), want %d", round, i, got[i].i, exp[i].i, want)
			}
			want++
		}
		if a.Len() != b.Len() {
			t.Fatalf("round %d: Len %d, PopN's %d", round, a.Len(), b.Len())
		}
		for i, it := range a.content.items {
			if it != nil && a.Len() == 0 {
				t.Fatalf("round %d: slot %d still holds item %d after everything was popped", round, i, it.i)
			}
		}
		dst = got
	}
}

func TestPopNIntoReusesDst(t *testing.T) {
	rb := New[Item](8)
	dst := make([]Item, 0, 16)
	for i := 0; i < 5; i++ {
		rb.Push(Item{i})
	}
	got, ok := rb.PopNInto(dst, 16)
	if !ok || len(got) != 5 || &got[0] != &dst[:1][0] {
		t.Fatalf("PopNInto = %d items, %v, same array %v", len(got), ok, len(got) > 0 && &got[0] == &dst[:1][0])
	}
	if got, ok := rb.PopNInto(got, 16); ok || len(got) != 0 {
		t.Fatalf("PopNInto on empty = %d items, %v", len(got), ok)
	}
}

func BenchmarkPopN(b *testing.B) {
	rb := New[Item](16)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rb.Push(Item{1})
		rb.Push(Item{2})
		_, _ = rb.PopN(4096)
	}
}

func BenchmarkPopNInto(b *testing.B) {
	rb := New[Item](16)
	var dst []Item
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rb.Push(Item{1})
		rb.Push(Item{2})
		dst, _ = rb.PopNInto(dst, 4096)
	}
}
