// Package scenario runs the load tool's scenarios against a server: it
// checks the targets, spreads the readers over worker processes (this
// program re-executed with --worker, each running a wsclient.Engine),
// samples the server, and reports what the readers saw. It also starts the
// servers a run measures against as child processes: the naive baseline
// (hot --baseline) and one fresh server per mem-sweep step.
package scenario
