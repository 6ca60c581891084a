package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

// MINIODB_PPROF=127.0.0.1:6060 serves Go's pprof handlers on that address,
// for profiling (bench/ uses it); unset, nothing listens. Loopback only.
func init() {
	addr := os.Getenv("MINIODB_PPROF")
	if addr == "" {
		return
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go http.ListenAndServe(addr, mux)
}
