package target

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// MakePosts writes count small valid posts load-0001.md … into dir, so that
// a server started with `readtag --posts DIR` has enough posts for an idle
// run over many posts.
func MakePosts(dir string, count int, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make posts: %w", err)
	}
	width := max(4, len(strconv.Itoa(count)))
	for i := 1; i <= count; i++ {
		name := filepath.Join(dir, fmt.Sprintf("load-%0*d.md", width, i))
		body := fmt.Sprintf("---\ntitle: \"Load %d\"\ndate: 2026-01-01\nsummary: \"Load test post.\"\n---\n\nText.\n", i)
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			return fmt.Errorf("make posts: %w", err)
		}
	}
	fmt.Fprintf(stdout, "wrote %d posts (load-%0*d.md … load-%0*d.md) to %s\n"+
		"start a server with them: go run ./cmd/readtag --posts %s\n", count, width, 1, width, count, dir, dir)
	return nil
}

var postLink = regexp.MustCompile(`href="/posts/([a-z0-9]+(?:-[a-z0-9]+)*)"`)

// Get fetches a page with a short timeout; a failure to connect is
// reported as the target being unreachable.
func Get(ctx context.Context, url string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, body, err
}

// Check makes sure a server answers at base, and lists the posts its
// index links to.
func Check(ctx context.Context, base string) ([]string, error) {
	status, body, err := Get(ctx, base+"/")
	if err != nil {
		return nil, fmt.Errorf("target %s is unreachable: %w (is the server running?)", base, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("target %s: GET / answered HTTP %d", base, status)
	}
	var slugs []string
	seen := map[string]bool{}
	for _, m := range postLink.FindAllSubmatch(body, -1) {
		if s := string(m[1]); !seen[s] {
			seen[s] = true
			slugs = append(slugs, s)
		}
	}
	return slugs, nil
}

// CheckPost makes sure the post exists on base.
func CheckPost(ctx context.Context, base, slug string) error {
	status, _, err := Get(ctx, base+"/posts/"+slug)
	if err != nil {
		return fmt.Errorf("target %s is unreachable: %w", base, err)
	}
	if status == http.StatusNotFound {
		return fmt.Errorf("post %q does not exist on %s (GET /posts/%s: 404)", slug, base, slug)
	}
	if status != http.StatusOK {
		return fmt.Errorf("post %q on %s: HTTP %d", slug, base, status)
	}
	return nil
}

// CheckHealth makes sure a server answers at base: GET /healthz, 200. For
// a server that may serve no pages at all (readtag --presence-only).
func CheckHealth(ctx context.Context, base string) error {
	status, _, err := Get(ctx, base+"/healthz")
	if err != nil {
		return fmt.Errorf("target %s is unreachable: %w (is the server running?)", base, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("target %s: GET /healthz answered HTTP %d", base, status)
	}
	return nil
}
