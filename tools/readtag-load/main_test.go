package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/tools/readtag-load/internal/cli"
	"github.com/readtag/readtag/tools/readtag-load/internal/scenario"
)

// TestMain lets the test binary stand in for the tool when it re-executes
// itself (worker processes, the baseline child): those children carry
// scenario.ChildEnv and run main instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv(scenario.ChildEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no scenario", nil, "no scenario"},
		{"unknown scenario", []string{"warm"}, `unknown scenario "warm"`},
		{"bad flag", []string{"hot", "--readerz", "5"}, "flag provided but not defined"},
		{"bad readers", []string{"hot", "--readers", "0"}, "--readers 0"},
		{"rate too high", []string{"hot", "--rate", "60"}, "rate ≤ 20"},
		{"rate for idle", []string{"idle", "--rate", "5"}, "--rate is for hot and churn"},
		{"remote target", []string{"hot", "--targets", "http://192.0.2.1:8080"}, "not a loopback address"},
		{"target path", []string{"hot", "--targets", "http://127.0.0.1:8080/x"}, "just http://host:port"},
		{"bad source ip", []string{"hot", "--source-ips", "nope"}, "not an IP address"},
		{"baseline for storm", []string{"storm", "--baseline"}, "for the hot scenario"},
		{"two scenarios", []string{"hot", "idle"}, "one scenario at a time"},
		{"bad slug", []string{"hot", "--post", "../x"}, "not a slug"},
		{"negative posts-count", []string{"storm", "--posts-count", "-1"}, "--posts-count -1"},
		{"huge posts-count", []string{"storm", "--posts-count", "100001"}, "--posts-count 100001"},
		{"posts-count overflow", []string{"storm", "--posts-count", "99999999999999999999"}, "invalid value"},
		{"posts-count not a number", []string{"storm", "--posts-count", "ten"}, "invalid value"},
		{"posts-count for hot", []string{"hot", "--posts-count", "3"}, "--posts-count is for idle and storm"},
		{"posts for churn", []string{"churn", "--posts", "a,b"}, "--posts is for idle and storm"},
		{"posts and posts-count", []string{"storm", "--posts", "a,b", "--posts-count", "2"}, "not both"},
		{"posts and post", []string{"storm", "--posts", "a,b", "--post", "a"}, "not both"},
		{"posts twice", []string{"storm", "--posts", "a,b,a"}, `"a" given twice`},
		{"bad slug in posts", []string{"storm", "--posts", "a,../../etc"}, "not a slug"},
		{"control char in posts", []string{"storm", "--posts", "a,b\x00c"}, "not a slug"},
		{"embed for idle", []string{"idle", "--embed-sites", "2"}, "--embed-sites is for hot and storm, not idle"},
		{"embed for churn", []string{"churn", "--embed-sites", "2"}, "--embed-sites is for hot and storm, not churn"},
		{"no embed sites", []string{"storm", "--embed-sites", "0"}, "--embed-sites 0: want 1 to 10000"},
		{"too many embed sites", []string{"storm", "--embed-sites", "10001"}, "--embed-sites 10001"},
		{"embed pages alone", []string{"storm", "--embed-pages", "10"}, "--embed-pages needs --embed-sites"},
		{"embed origin alone", []string{"hot", "--embed-origin", "http://a{i}.test"}, "--embed-origin needs --embed-sites"},
		{"fewer pages than sites", []string{"storm", "--embed-sites", "10", "--embed-pages", "5"}, "at least one page a site"},
		{"too many pages", []string{"storm", "--embed-sites", "10", "--embed-pages", "100001"}, "at most 100000 pages"},
		{"embed and post", []string{"hot", "--embed-sites", "2", "--post", "a"}, "give --embed-sites or --post"},
		{"embed and posts-count", []string{"storm", "--embed-sites", "2", "--posts-count", "3"}, "give --embed-sites or --posts-count"},
		{"embed and baseline", []string{"hot", "--embed-sites", "2", "--baseline"}, "no embedded pages"},
		{"embed origin without {i}", []string{"storm", "--embed-sites", "2", "--embed-origin", "http://a.test"}, "has no {i}"},
		{"embed origin with a path", []string{"storm", "--embed-sites", "2", "--embed-origin", "http://a{i}.test/blog"}, "not an origin"},
		{"zipf for storm", []string{"storm", "--zipf", "1", "--posts-count", "3"}, "--zipf is for the hot scenario"},
		{"zipf without posts", []string{"hot", "--zipf", "1"}, "give --posts-count M or --posts"},
		{"zipf zero", []string{"hot", "--zipf", "0", "--posts-count", "3"}, "--zipf 0: want an exponent above 0"},
		{"zipf huge", []string{"hot", "--zipf", "NaN", "--posts-count", "3"}, "--zipf NaN"},
		{"zipf and post", []string{"hot", "--zipf", "1", "--posts-count", "3", "--post", "a"}, "leave out --post"},
		{"zipf and compare", []string{"hot", "--zipf", "1", "--posts-count", "3", "--compare"}, "leave out --post"},
		{"place without zipf", []string{"hot", "--place", "post"}, "--place is for hot --zipf"},
		{"bad place", []string{"hot", "--zipf", "1", "--posts-count", "3", "--place", "nearest"}, `--place "nearest": want random or post`},
		{"embed origin not http", []string{"storm", "--embed-sites", "2", "--embed-origin", "javascript://a{i}"}, "not an origin"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantUsageError(t, tc.args, tc.want) })
	}
}

func TestAllowRemoteAcceptsNonLoopback(t *testing.T) {
	if _, err := checkURL("http://192.0.2.1:8080", true); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{"http://127.0.0.1:1", "http://127.0.0.2:1", "http://localhost:1", "http://[::1]:1", "ws://127.0.0.1:1"} {
		if _, err := checkURL(ok, false); err != nil {
			t.Errorf("checkURL(%s): %v", ok, err)
		}
	}
}

func TestUnreachableTarget(t *testing.T) {
	// A port that was just free: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"hot", "--targets", "http://" + addr, "--readers", "1"}, &stdout, &stderr)
	var ue *cli.UsageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("run against a closed port = %v, want an 'unreachable' error (exit 1)", err)
	}
}

func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hot", "storm", "--source-ips", "--make-posts", "--embed-sites", "--embed-pages", "--embed-origin"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help does not mention %s", want)
		}
	}
	if strings.Contains(stderr.String(), "--worker") {
		t.Error("help shows the hidden --worker flag")
	}
}

func TestMakePosts(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--make-posts", dir, "--count", "12"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	lib, err := posts.Open(os.DirFS(dir), false)
	if err != nil {
		t.Fatalf("the posts do not load: %v", err)
	}
	list, err := lib.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 12 {
		t.Fatalf("%d posts listed, want 12", len(list))
	}
	if _, err := os.Stat(dir + "/load-0012.md"); err != nil {
		t.Error(err)
	}
}

func TestChartHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "readtag-load chart --out FILE.png") {
		t.Errorf("--help does not list the chart subcommand:\n%s", stderr.String())
	}
	stderr.Reset()
	if err := run(context.Background(), []string{"chart", "--help"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--out", "--x-scale", "RESULT.json"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("chart --help does not mention %s", want)
		}
	}
}

// wantUsageError runs the tool with args and checks that it refuses them
// with a usage error (exit 2) that mentions want.
func wantUsageError(t *testing.T, args []string, want string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	var ue *cli.UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("run(%q) = %v, want a usage error (exit 2)", args, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("run(%q) = %q, want it to mention %q", args, err, want)
	}
}
