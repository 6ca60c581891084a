package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/miniodb/miniodb/testenv"
)

// tlsClient is the Go example for TLS (README): a Flight SQL client that
// trusts the server's CA and, for mTLS, presents a client certificate.
func tlsClient(t *testing.T, addr string, cfg *tls.Config) *flightsql.Client {
	t.Helper()
	c, err := flightsql.NewClient(addr, nil, nil, bounded(grpc.WithTransportCredentials(credentials.NewTLS(cfg)))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func tryQuery(c *flightsql.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, recs, err := queryAll(ctx, c, "SELECT 42")
	releaseRecs(recs)
	return err
}

func TestSecurityTLSAndReload(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, "ca-1")
	cert, key := ca.Issue(t, dir, "server", true)
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, fmt.Sprintf("security:\n  enable_tls: true\n  tls: {cert_file: %q, key_file: %q}\n", cert, key))
	rest := freeAddr(t)
	s := startServer(t, filepath.Join(dir, "data"), "--config", cfg, "--rest-addr", rest)

	if err := tryQuery(tlsClient(t, s.addr, &tls.Config{RootCAs: ca.Pool()})); err != nil {
		t.Fatalf("TLS query: %v", err)
	}
	plain, err := flightsql.NewClient(s.addr, nil, nil, bounded(grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := tryQuery(plain); err == nil {
		t.Fatal("a plaintext client was served")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	resp, err := hc.Get("https://" + rest + "/v1/health")
	if err != nil {
		t.Fatalf("REST over TLS: %v", err)
	}
	resp.Body.Close()

	// renew the certificate from another CA: new connections see it
	ca2 := testenv.NewCA(t, "ca-2")
	time.Sleep(20 * time.Millisecond) // a distinct modification time
	ca2.Issue(t, dir, "server", true)
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := tryQuery(tlsClient(t, s.addr, &tls.Config{RootCAs: ca2.Pool()}))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("renewed certificate not served: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := tryQuery(tlsClient(t, s.addr, &tls.Config{RootCAs: ca.Pool()})); err == nil {
		t.Fatal("the old certificate is still served")
	}
}

func TestSecurityMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, "server-ca")
	clientCA := testenv.NewCA(t, "client-ca")
	cert, key := ca.Issue(t, dir, "server", true)
	writeFile(t, filepath.Join(dir, "clients.pem"), string(clientCA.PEM))
	ccert, ckey := clientCA.Issue(t, dir, "client", false)
	rogue := testenv.NewCA(t, "rogue")
	rcert, rkey := rogue.Issue(t, dir, "rogue", false)
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, fmt.Sprintf("security:\n  enable_tls: true\n  tls: {cert_file: %q, key_file: %q, client_ca_file: %q}\n",
		cert, key, filepath.Join(dir, "clients.pem")))
	rest := freeAddr(t)
	s := startServer(t, filepath.Join(dir, "data"), "--config", cfg, "--rest-addr", rest)

	pair := func(c, k string) []tls.Certificate {
		p, err := tls.LoadX509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{p}
	}
	good := &tls.Config{RootCAs: ca.Pool(), Certificates: pair(ccert, ckey)}
	if err := tryQuery(tlsClient(t, s.addr, good)); err != nil {
		t.Fatalf("mTLS query: %v", err)
	}
	if err := tryQuery(tlsClient(t, s.addr, &tls.Config{RootCAs: ca.Pool()})); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	if err := tryQuery(tlsClient(t, s.addr, &tls.Config{RootCAs: ca.Pool(), Certificates: pair(rcert, rkey)})); err == nil {
		t.Fatal("a client certificate of another CA was served")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: good}}
	resp, err := hc.Get("https://" + rest + "/v1/health")
	if err != nil {
		t.Fatalf("REST with a client certificate: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "status") {
		t.Fatalf("REST health: %d %s", resp.StatusCode, b)
	}
	hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	if resp, err := hc.Get("https://" + rest + "/v1/health"); err == nil {
		resp.Body.Close()
		t.Fatal("REST served a client without a certificate")
	}
}

func TestSecurityTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, yaml, want string }{
		{"tls_without_enable", "security:\n  tls: {cert_file: a.pem}\n", "enable_tls is false"},
		{"enable_without_files", "security:\n  enable_tls: true\n", "cert_file and key_file"},
		{"missing_files", "security:\n  enable_tls: true\n  tls: {cert_file: /nonexistent.pem, key_file: /nonexistent-key.pem}\n", "load certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".yaml")
			writeFile(t, p, tc.yaml)
			cmd := newRootCmd()
			cmd.SetArgs([]string{"serve", "--check-config", "--config", p})
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}
