package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var usage *usageError
	switch {
	case err == nil:
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "readtag-load:", err)
		fmt.Fprintln(os.Stderr, "Run 'readtag-load --help' for usage.")
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "readtag-load:", err)
		os.Exit(1)
	}
}

// run is the whole program, callable from tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	if len(args) > 0 && args[0] == "chart" {
		return runChart(args[1:], stdout, stderr)
	}
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	// Every connection is a file; the soft limit is often far below the hard.
	if _, err := raiseFileLimit(); err != nil && !o.worker {
		fmt.Fprintf(stderr, "readtag-load: warning: cannot raise the open-file limit: %v\n", err)
	}
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	switch {
	case o.worker:
		return runWorker(ctx, os.Stdin, stdout)
	case o.makePosts != "":
		return makePosts(o.makePosts, o.count, stdout)
	case o.scenario == "baseline-server":
		return serveBaseline(ctx, o.addr, o.exitOnEOF, stdout)
	case o.scenario == "bare-server":
		return serveBare(ctx, o.addr, o.buffers, o.sharedPinger, o.reduceMem, o.relayTick, o.exitOnEOF, stdout)
	case o.scenario == "mem-sweep":
		return runSweep(ctx, o, stdout, stderr)
	}
	if o.pidNote != "" {
		fmt.Fprintf(stderr, "readtag-load: %s\n", o.pidNote)
	}
	r := &runner{o: o, stdout: stdout, stderr: stderr}
	return r.run(ctx)
}

// startCPUProfile starts profiling this process into path; stop ends the
// profile and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}
