package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// minMemoryLimit is the least --memory-limit: below it the Go runtime would
// collect garbage almost without pause just to run the server.
const minMemoryLimit = 16 << 20

// sizeUnits are the suffixes parseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	scale  int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// parseSize reads a byte count such as 512MiB, 1GiB, 1.5GiB, 800MB or
// 1073741824 (bytes), as GOMEMLIMIT takes them, plus decimal units.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	num, scale := s, int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, scale = strings.TrimSpace(rest), u.scale
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || strings.ContainsAny(num, "eEpPxXnN_+") || v < 0 {
		return 0, fmt.Errorf("%q is not a size like 512MiB or 1GiB", s)
	}
	b := v * float64(scale)
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too big", s)
	}
	return int64(b), nil
}

// parseMemoryLimit checks --memory-limit: "" or "off" for none (GOMEMLIMIT,
// if set, still applies), else a size of at least minMemoryLimit.
func parseMemoryLimit(raw string) (int64, error) {
	if s := strings.TrimSpace(raw); s == "" || s == "off" {
		return 0, nil
	}
	n, err := parseSize(raw)
	if err != nil {
		return 0, fmt.Errorf("--memory-limit: %w", err)
	}
	if n < minMemoryLimit {
		return 0, fmt.Errorf("--memory-limit %q: want at least 16MiB", raw)
	}
	return n, nil
}
