// Package stats is what the load tool counts and reports: log-linear
// histograms and traffic counters, merged across workers; samples of the
// server process; and the results of a run as printed and as written with
// --json, which the chart subcommand reads back.
package stats
