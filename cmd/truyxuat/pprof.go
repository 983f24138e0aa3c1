//go:build pprof

package main

import (
	"net"
	"net/http"
	_ "net/http/pprof" // the profiles, on http.DefaultServeMux
	"os"
)

// A build with -tags pprof serves Go's profiles (/debug/pprof/) on the
// loopback address in TRUYXUAT_PPROF (e.g. 127.0.0.1:6060), to see where
// the service's processor time goes under load. Release builds have no
// such listener.
func init() {
	addr := os.Getenv("TRUYXUAT_PPROF")
	if addr == "" {
		return
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		os.Stderr.WriteString("truyxuat: TRUYXUAT_PPROF must be a loopback address and port, e.g. 127.0.0.1:6060\n")
		os.Exit(2)
	}
	go http.ListenAndServe(addr, nil)
}
