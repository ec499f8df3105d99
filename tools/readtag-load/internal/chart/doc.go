// Package chart is the load tool's chart subcommand: it draws the results
// written with --json as a PNG, the scroll-to-ghost latency of hot runs as
// cumulative curves, or mem-sweep's memory per reader against readers.
package chart
