// Command readtag serves a blog on which every reader sees every other
// current reader of a post as a ghost in the margin.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Getenv)
	var usage *usageError
	switch {
	case err == nil:
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "readtag:", err)
		fmt.Fprintln(os.Stderr, "Run 'readtag --help' for usage.")
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "readtag:", err)
		os.Exit(1)
	}
}
