package scenario

import (
	"testing"

	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
	"github.com/readtag/readtag/tools/readtag-load/internal/wsclient"
)

func view(id, post string, others ...string) wsclient.View {
	v := wsclient.View{ID: id, Post: post, Count: len(others)}
	for _, o := range others {
		v.XOR ^= protocol.IDHash([]byte(o))
	}
	return v
}

func TestCheckViews(t *testing.T) {
	good := []wsclient.View{view("a", "p", "b", "c"), view("b", "p", "a", "c"), view("c", "p", "a", "b"), view("d", "q")}
	if vr := checkViews(good, 0); !vr.Agree || vr.Mismatches != 0 {
		t.Errorf("good views: %+v", vr)
	}
	if vr := checkViews(good, 1); vr.Agree {
		t.Error("agreed with a reader still waiting for its welcome")
	}
	for name, bad := range map[string][]wsclient.View{
		"missing":   {view("a", "p", "b"), view("b", "p", "a", "c"), view("c", "p", "a", "b")},
		"phantom":   {view("a", "p", "b", "c", "z"), view("b", "p", "a", "c"), view("c", "p", "a", "b")},
		"wrong one": {view("a", "p", "b", "z"), view("b", "p", "a", "c"), view("c", "p", "a", "b")},
		"self":      {view("a", "p", "a", "b"), view("b", "p", "a")},
	} {
		if vr := checkViews(bad, 0); vr.Agree || vr.Mismatches != 1 || len(vr.Examples) != 1 {
			t.Errorf("%s: %+v", name, vr)
		}
	}
	dup := []wsclient.View{view("a", "p", "a"), view("a", "p", "a")}
	if vr := checkViews(dup, 0); vr.Agree || vr.DuplicateIDs != 1 {
		t.Errorf("duplicate ids: %+v", vr)
	}
}

func TestCheckViewsCrowd(t *testing.T) {
	crowd := func(v wsclient.View, total int) wsclient.View { v.Crowd, v.Total = true, total; return v }
	ok := []wsclient.View{crowd(view("a", "p", "b"), 3), crowd(view("b", "p", "c"), 3), view("c", "p", "a")}
	if vr := checkViews(ok, 0); !vr.Agree || vr.CrowdPosts != 1 {
		t.Errorf("crowd views: %+v", vr)
	}
	wrongTotal := []wsclient.View{crowd(view("a", "p", "b"), 4), crowd(view("b", "p", "a"), 2)}
	if vr := checkViews(wrongTotal, 0); vr.Agree || vr.Mismatches != 1 {
		t.Errorf("wrong total: %+v", vr)
	}
}
