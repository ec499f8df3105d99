package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/readtag/readtag/web"
)

// FuzzSitesFile feeds arbitrary bytes to --sites-file: no panic, and what
// it accepts is canonical (written back and read again, the same sites).
func FuzzSitesFile(f *testing.F) {
	for _, seed := range []string{
		"blog https://blog.example\n",
		"# the sites\r\n\nshop  https://shop.example https://www.shop.example # apex and www\n\tdocs https://docs.example:8443\r\n",
		"a HTTPS://A.EXAMPLE:443/\nb http://127.0.0.1:8080\n",
		"x https://[::1]:8443\n",
		"dup https://a.example\ndup https://b.example\n",
		"only-a-name\n",
		"bad\x00 https://a.example\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, "sites")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		sites, err := parseSites("", file)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		var b strings.Builder
		for _, s := range sites {
			b.WriteString(s.Name + " " + strings.Join(s.Origins, " ") + "\n")
		}
		if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := parseSites("", file)
		if err != nil {
			t.Fatalf("accepted %q, but not its canonical form %q: %v", data, b.String(), err)
		}
		if !slices.EqualFunc(sites, again, func(x, y web.Site) bool {
			return x.Name == y.Name && slices.Equal(x.Origins, y.Origins)
		}) {
			t.Fatalf("%q read back as %v, then %v", data, sites, again)
		}
	})
}
