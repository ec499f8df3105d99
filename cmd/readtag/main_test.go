package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain points the user cache directory, where a server started without
// --resume-key-file keeps its resume key, at a temporary one: the servers
// these tests start (in this process, or as child processes, which inherit
// the environment) must not write into the home of whoever runs them.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "readtag-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.Setenv("XDG_CACHE_HOME", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func TestDefaultResumeKeyOutsideHome(t *testing.T) {
	dir := os.Getenv("XDG_CACHE_HOME")
	if got := defaultResumeKeyFile(); dir == "" || !strings.HasPrefix(got, filepath.Clean(dir)+string(filepath.Separator)) {
		t.Errorf("the default resume key file is %q, want it under the tests' cache directory %q", got, dir)
	}
}
