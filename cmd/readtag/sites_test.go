package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/readtag/readtag/web"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSitesSettings(t *testing.T) {
	file := writeFile(t, "sites", "# the sites\r\n\nshop  https://shop.example https://www.shop.example # apex and www\n\tdocs https://docs.example:8443\r\n")
	o, err := parseOptions([]string{"--sites", "https://Blog.Example.com:443/, http://127.0.0.1:41234", "--sites-file", file, "--max-rooms-per-site", "7", "--presence-only"},
		nil, env())
	if err != nil {
		t.Fatal(err)
	}
	want := []web.Site{
		{Name: "blog.example.com", Origins: []string{"https://blog.example.com"}},
		{Name: "127.0.0.1:41234", Origins: []string{"http://127.0.0.1:41234"}},
		{Name: "shop", Origins: []string{"https://shop.example", "https://www.shop.example"}},
		{Name: "docs", Origins: []string{"https://docs.example:8443"}},
	}
	if !reflect.DeepEqual(o.sites, want) || o.maxRoomsPerSite != 7 || !o.presenceOnly {
		t.Errorf("sites %v, max rooms %d, presence only %v", o.sites, o.maxRoomsPerSite, o.presenceOnly)
	}
	o, err = parseOptions(nil, nil, env("READTAG_SITES", "https://a.example", "READTAG_SITES_FILE", file,
		"READTAG_MAX_ROOMS_PER_SITE", "3", "READTAG_PRESENCE_ONLY", "1"))
	if err != nil || len(o.sites) != 3 || o.maxRoomsPerSite != 3 || !o.presenceOnly {
		t.Errorf("from the environment: %v, %v", o, err)
	}
	if o, err = parseOptions(nil, nil, env()); err != nil || len(o.sites) != 0 || o.maxRoomsPerSite != 1000 || o.presenceOnly {
		t.Errorf("defaults: %v, %v", o, err)
	}
}

func TestBadSitesSettings(t *testing.T) {
	bin := writeFile(t, "bin", "blog https://blog.example\n\x00\x01\x02")
	for _, tc := range []struct {
		args []string
		env  []string
		file string // contents of a --sites-file
		want string
	}{
		{args: []string{"--sites", "blog.example.com"}, want: `--sites: "blog.example.com" is not an origin like https://example.com`},
		{args: []string{"--sites", "https://blog.example.com/blog"}, want: `is not an origin`},
		{args: []string{"--sites", "https://u:p@blog.example.com"}, want: `is not an origin`},
		{args: []string{"--sites", "javascript:alert(1)"}, want: `is not an origin`},
		{args: []string{"--sites", "https://a.example,https://A.example:443"}, want: `--sites: site "a.example" is named twice`},
		{args: []string{"--sites", "http://[::1]:8080"}, want: `an IPv6 address cannot name a site`},
		{args: []string{"--sites", "https://" + strings.Repeat("a", 64) + ".example"}, want: `site name`},
		{env: []string{"READTAG_SITES", "ftp://a.example"}, want: `--sites: "ftp://a.example" is not an origin`},
		{args: []string{"--max-rooms-per-site", "0"}, want: `--max-rooms-per-site "0": want a whole number from 1 to 16777216`},
		{args: []string{"--max-rooms-per-site", "lots"}, want: `--max-rooms-per-site "lots"`},
		{env: []string{"READTAG_MAX_ROOMS_PER_SITE", "-1"}, want: `--max-rooms-per-site "-1"`},
		{args: []string{"--presence-only"}, want: `--presence-only serves only other sites' pages: name them with --sites or --sites-file`},
		{env: []string{"READTAG_PRESENCE_ONLY", "yes"}, want: `READTAG_PRESENCE_ONLY "yes": want 1, true, 0 or false`},
		{args: []string{"--sites-file", "/does/not/exist"}, want: `--sites-file: open /does/not/exist`},
		{args: []string{"--sites-file", os.TempDir()}, want: `not a regular file`},
		{args: []string{"--sites-file", bin}, want: `bin:2: not a line of text`},
		{file: "", want: `no sites in it`},
		{file: "# only comments\n\n", want: `no sites in it`},
		{file: "blog\n", want: `sites:1: want a site name and its origins`},
		{file: "blog https://blog.example\nBlog https://b.example\n", want: `sites:2: site name "Blog"`},
		{file: "blog https://blog.example\nblog https://b.example\n", want: `sites:2: site "blog" is already named on line 1`},
		{file: "a https://x.example\nb https://X.example:443/\n", want: `sites:2: origin https://x.example is already a site's on line 1`},
		{file: "a https://x.example https://x.example\n", want: `sites:1: site "a" lists origin https://x.example twice`},
		{file: "a https://x.example/path\n", want: `sites:1: site "a": "https://x.example/path" is not an origin`},
		{file: "a https://x.example\xff\n", want: `sites:1: not a line of text`},
		{file: "a\rhttps://x.example\n", want: `sites:1: not a line of text`},
		{file: strings.Repeat("#", maxSitesFile+1), want: `longer than 1048576 bytes`},
		{args: []string{"--sites", "https://x.example"}, file: "x https://x.example\n", want: `--sites and --sites-file: origin https://x.example belongs to two sites, "x.example" and "x"`},
		{args: []string{"--sites", "https://x.example"}, file: "x.example https://y.example\n", want: `--sites and --sites-file: site "x.example" is named twice`},
	} {
		args := tc.args
		if tc.file != "" || tc.want == "no sites in it" {
			args = append(args, "--sites-file", writeFile(t, "sites", tc.file))
		}
		_, err := parseOptions(args, io.Discard, env(tc.env...))
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %v: error %v, want a usage error containing %q", args, tc.env, err, tc.want)
		}
	}
}
