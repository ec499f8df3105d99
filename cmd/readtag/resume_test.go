package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The resume key is made once (0600, in a 0700 directory) and read again
// by the next start, so that a restarted server takes its readers' tokens.
func TestResumeKeyFileMadeOnceAndKept(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cache", "readtag", "resume.key")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	first := loadResumeKey(file, log)
	if len(first) != resumeKeyBytes {
		t.Fatalf("key of %d bytes, want %d", len(first), resumeKeyBytes)
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %#o, want 0600", st.Mode().Perm())
	}
	if dir, err := os.Stat(filepath.Dir(file)); err != nil || dir.Mode().Perm() != 0o700 {
		t.Errorf("key directory: %v %v, want mode 0700", dir.Mode().Perm(), err)
	}
	if again := loadResumeKey(file, log); !bytes.Equal(again, first) {
		t.Error("a second start made a new key: readers would lose their names at every restart")
	}
	if logs.Len() != 0 {
		t.Errorf("logged %q for a usable key", logs.String())
	}
}

// A key file that cannot be used costs only the tokens' survival across
// restarts: one WARN, and a random key for this run.
func TestResumeKeyFileUnusable(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("tiny"), 0o600); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{
		"too short":          short,
		"a directory":        dir,
		"under a plain file": filepath.Join(blocker, "resume.key"),
		"no cache directory": "",
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			key := loadResumeKey(file, slog.New(slog.NewTextHandler(&logs, nil)))
			if len(key) != resumeKeyBytes || bytes.Equal(key, make([]byte, resumeKeyBytes)) {
				t.Errorf("fallback key %x, want %d random bytes", key, resumeKeyBytes)
			}
			if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "resume key unusable") {
				t.Errorf("want one WARN, got %q", logs.String())
			}
		})
	}
}
