package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/readtag/readtag/tools/readtag-load/internal/chart"
	"github.com/readtag/readtag/tools/readtag-load/internal/cli"
	"github.com/readtag/readtag/tools/readtag-load/internal/scenario"
	"github.com/readtag/readtag/tools/readtag-load/internal/servers"
	"github.com/readtag/readtag/tools/readtag-load/internal/target"
	"github.com/readtag/readtag/tools/readtag-load/internal/wsclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var usage *cli.UsageError
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
		return chart.Run(args[1:], stdout, stderr)
	}
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	// Every connection is a file; the soft limit is often far below the hard.
	if _, err := wsclient.RaiseFileLimit(); err != nil && !o.worker {
		fmt.Fprintf(stderr, "readtag-load: warning: cannot raise the open-file limit: %v\n", err)
	}
	if o.CPUProfile != "" {
		stop, err := scenario.StartCPUProfile(o.CPUProfile)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	switch {
	case o.worker:
		return scenario.RunWorker(ctx, os.Stdin, stdout)
	case o.makePosts != "":
		return target.MakePosts(o.makePosts, o.count, stdout)
	case o.Scenario == "baseline-server":
		return servers.ServeBaseline(ctx, o.addr, o.exitOnEOF, stdout)
	case o.Scenario == "bare-server":
		cfg := servers.BareConfig{Buffers: o.Buffers, SharedPinger: o.SharedPinger, ReduceMemory: o.ReduceMemory, RelayTick: o.relayTick}
		return servers.ServeBare(ctx, o.addr, cfg, o.exitOnEOF, stdout)
	case o.Scenario == "mem-sweep":
		return scenario.RunSweep(ctx, &o.Options, stdout, stderr)
	}
	if o.pidNote != "" {
		fmt.Fprintf(stderr, "readtag-load: %s\n", o.pidNote)
	}
	return scenario.Run(ctx, &o.Options, stdout, stderr)
}
