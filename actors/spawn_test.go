package actors

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEverySpawnIsGuarded keeps the rule that makes tracing complete and
// panics harmless: readtag starts actors only through system.spawn and
// system.spawnUnder (spawn.go), never with Hollywood's Spawn, SpawnChild or
// SpawnFunc directly.
func TestEverySpawnIsGuarded(t *testing.T) {
	direct := regexp.MustCompile(`\.(Spawn|SpawnChild|SpawnFunc|SpawnChildFunc|SpawnProc)\(`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "spawn.go" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if direct.MatchString(line) {
				t.Errorf("%s:%d spawns an actor directly (use sys.spawn or sys.spawnUnder): %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
