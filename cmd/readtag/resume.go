package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// resumeKeyBytes is the size of a resume key the server makes; a key file
// may hold more, not less.
const resumeKeyBytes = 32

// defaultResumeKeyFile is where the resume key lives when no flag says:
// the user's cache directory, so that a restarted server accepts the tokens
// its readers hold. "" when there is no such directory.
func defaultResumeKeyFile() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "readtag", "resume.key")
}

// loadResumeKey reads the resume key from file, creating it (0600, its
// directory 0700) with a random key when it does not exist. A file that
// cannot be read or made, or is too short, costs only the resume tokens'
// survival across restarts: the server warns once and uses a key of its
// own for this run.
func loadResumeKey(file string, log *slog.Logger) []byte {
	key, err := readOrMakeKey(file)
	if err == nil {
		return key
	}
	log.Warn("resume key unusable: readers get new names after a restart", "file", file, "err", err)
	key = make([]byte, resumeKeyBytes)
	_, _ = rand.Read(key)
	return key
}

func readOrMakeKey(file string) ([]byte, error) {
	if file == "" {
		return nil, errors.New("no cache directory for the default file: set --resume-key-file")
	}
	key, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, resumeKeyBytes)
		_, _ = rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, err
		}
		// O_EXCL: two servers starting at once keep the one written first.
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return readOrMakeKey(file)
		}
		if err != nil {
			return nil, err
		}
		_, werr := f.Write(key)
		if err := errors.Join(werr, f.Close()); err != nil {
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, err
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("%d bytes: want at least 16", len(key))
	}
	return key, nil
}
