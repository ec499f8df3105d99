package web

import (
	"testing"
	"time"
)

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"gzip, br", "br;q=0", "gzip;q=0.5, br;q=0.4", ";;;", "*", "GZIP;Q=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		switch got := negotiate(header); got {
		case "", "br", "gzip":
		default:
			t.Fatalf("negotiate(%q) = %q", header, got)
		}
	})
}

func FuzzNotModified(f *testing.F) {
	f.Add(`W/"abc"`, "Mon, 02 Jan 2006 15:04:05 GMT")
	f.Add(`*`, "")
	f.Add(`"a", "b",,`, "yesterday")
	modified := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, inm, ims string) {
		got := notModified(inm, ims, `W/"abc"`, modified)
		if inm == "" && ims == "" && got {
			t.Fatal("304 without validators")
		}
	})
}
