// readtag-restart measures how pages recover from a server restart: it
// starts a readtag binary, opens post pages and index pages in headless
// Chromium, stops the server with SIGTERM, starts it again on the same
// address after -down, and reports how long the pages take to be live again
// (index: to show the post's count again) and how many kept their name.
// docs/performance.md ("Reconnecting after a restart") has its figures.
//
//	go build -o /tmp/readtag ./cmd/readtag
//	go run -C tools/readtag-restart . -bin /tmp/readtag -addr 127.0.0.1:18941
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	bin := flag.String("bin", "", "the readtag `binary` to run")
	addr := flag.String("addr", "127.0.0.1:18941", "`host:port` for the server (free)")
	pages := flag.Int("pages", 20, "post pages to open")
	index := flag.Int("index", 2, "index pages to open")
	down := flag.Duration("down", 15*time.Second, "how long the server stays stopped")
	chromium := flag.String("chromium", "/usr/bin/chromium", "the Chromium `binary`")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "readtag-restart: -bin is required")
		os.Exit(2)
	}
	if err := measure(*bin, *addr, *chromium, *pages, *index, *down); err != nil {
		fmt.Fprintln(os.Stderr, "readtag-restart:", err)
		os.Exit(1)
	}
}

func measure(bin, addr, chromium string, pages, index int, down time.Duration) error {
	keyDir, err := os.MkdirTemp("", "readtag-restart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(keyDir)
	// start runs the server and returns once it accepts connections (the
	// moment "back" is measured from).
	start := func() (*exec.Cmd, error) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "READTAG_ADDR="+addr, "READTAG_LOG_LEVEL=warn",
			"READTAG_RESUME_KEY_FILE="+keyDir+"/resume.key", "READTAG_MAX_READERS_PER_IP=1000")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return cmd, nil
			}
			time.Sleep(20 * time.Millisecond) // polling for the port, bounded by deadline
		}
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s did not listen on %s within 30 s", bin, addr)
	}
	srv, err := start()
	if err != nil {
		return err
	}
	defer func() { _ = srv.Process.Kill() }()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	browser, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	if err := chromedp.Do(browser); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}
	// Each page in a browser context of its own: its own storage, like
	// another person's browser.
	open := func(url string) (context.Context, error) {
		ctx, _ := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		err := chromedp.Do(ctx, chromedp.EmulateViewport(1024, 768), chromedp.Navigate(url))
		return ctx, err
	}
	eval := func(ctx context.Context, js string) string {
		v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		return v
	}
	wait := func(ctx context.Context, js string, d time.Duration) bool {
		tctx, c := context.WithTimeout(ctx, d)
		defer c()
		_, err := chromedp.Run(tctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond)))
		return err == nil
	}
	const live = `!!(window.readtag && window.readtag.state().connected)`
	const counted = `(() => { const b = document.querySelector('[data-readtag-count="/posts/reading-together"]'); return !!b && !b.hidden })()`
	var tabs []context.Context
	names := map[int]string{}
	for i := range pages {
		ctx, err := open("http://" + addr + "/posts/reading-together")
		if err != nil {
			return err
		}
		if !wait(ctx, live, 20*time.Second) {
			return fmt.Errorf("page %d not live within 20 s", i)
		}
		names[i] = eval(ctx, `window.readtag.state().name`)
		tabs = append(tabs, ctx)
	}
	var idx []context.Context
	for i := range index {
		ctx, err := open("http://" + addr + "/")
		if err != nil {
			return err
		}
		if !wait(ctx, counted, 20*time.Second) {
			return fmt.Errorf("index page %d shows no count within 20 s", i)
		}
		idx = append(idx, ctx)
	}
	_ = srv.Process.Signal(syscall.SIGTERM)
	_ = srv.Wait()
	time.Sleep(down) // the outage being measured, not a wait for a condition
	if srv, err = start(); err != nil {
		return err
	}
	back := time.Now()
	var mu sync.Mutex
	var pageT, idxT []time.Duration
	var wg sync.WaitGroup
	for _, ctx := range tabs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if wait(ctx, live, 120*time.Second) {
				mu.Lock()
				pageT = append(pageT, time.Since(back))
				mu.Unlock()
			}
		}()
	}
	for _, ctx := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if wait(ctx, counted, 120*time.Second) {
				mu.Lock()
				idxT = append(idxT, time.Since(back))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	kept := 0
	for i, ctx := range tabs {
		if eval(ctx, `window.readtag.state().name`) == names[i] {
			kept++
		}
	}
	slices.Sort(pageT)
	slices.Sort(idxT)
	r := func(d []time.Duration, i int) string {
		if len(d) == 0 {
			return "-"
		}
		return d[i].Round(10 * time.Millisecond).String()
	}
	fmt.Printf("pages back: %d/%d, median %s, max %s\n", len(pageT), pages, r(pageT, len(pageT)/2), r(pageT, len(pageT)-1))
	fmt.Printf("index back: %d/%d, max %s\n", len(idxT), index, r(idxT, len(idxT)-1))
	fmt.Printf("names kept: %d/%d\n", kept, pages)
	_ = srv.Process.Signal(syscall.SIGTERM)
	return srv.Wait()
}
