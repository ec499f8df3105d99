package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"512MiB": 512 << 20, "1GiB": 1 << 30, "1.5GiB": 3 << 29, "300 MiB": 300 << 20, "64KiB": 64 << 10,
		"800MB": 800e6, "2GB": 2e9, "1073741824": 1 << 30, "1073741824B": 1 << 30, " 1TiB ": 1 << 40,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "lots", "-1GiB", "1e9", "0x10MiB", "1 GiBs", "1gib", "NaN", "Inf", "+5MiB", "1_000", "99999999TiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestMemoryLimitFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want int64
	}{
		{want: 0},
		{args: []string{"--memory-limit", "off"}, want: 0},
		{args: []string{"--memory-limit", "512MiB"}, want: 512 << 20},
		{env: []string{"READTAG_MEMORY_LIMIT", "1GiB"}, want: 1 << 30},
	} {
		o, err := parseOptions(tc.args, &strings.Builder{}, env(tc.env...))
		if err != nil || o.memoryLimit != tc.want {
			t.Errorf("%v %v: %v, limit %d; want %d", tc.args, tc.env, err, o.memoryLimit, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{args: []string{"--memory-limit", "lots"}, want: `--memory-limit: "lots" is not a size like 512MiB or 1GiB`},
		{args: []string{"--memory-limit", "512"}, want: `--memory-limit "512": want at least 16MiB`},
		{args: []string{"--memory-limit", "-1GiB"}, want: "--memory-limit"},
		{env: []string{"READTAG_MEMORY_LIMIT", "1gb"}, want: `"1gb" is not a size`},
	} {
		err := run(context.Background(), tc.args, &strings.Builder{}, env(tc.env...))
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want a usage error containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}
