package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/miniodb/miniodb/testenv"
)

// clientCert is a client certificate with the given CN and DNS SANs,
// signed by ca, kept in memory.
func clientCert(t *testing.T, ca *testenv.CA, cn string, dns ...string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestSecurityClientCertIdentity: with security.client_certs, a client
// that sends no credentials is authorized as the identity its verified
// certificate maps to, by CN (to a configured user) or by DNS SAN (to
// roles of its own), over Flight SQL and REST; an unmapped certificate
// still needs credentials, and credentials win over the certificate.
func TestSecurityClientCertIdentity(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, "server-ca")
	clientCA := testenv.NewCA(t, "client-ca")
	cert, key := ca.Issue(t, dir, "server", true)
	caFile := filepath.Join(dir, "clients.pem")
	writeFile(t, caFile, string(clientCA.PEM))
	extra := fmt.Sprintf(`  enable_tls: true
  tls: {cert_file: %q, key_file: %q, client_ca_file: %q}
  client_certs:
    - {name: reader-box, user: rob}
    - {name: etl.example.com, grants: ["write:events"]}
`, cert, key, caFile)
	rest := freeAddr(t)
	s := startServer(t, filepath.Join(dir, "data"), "--config", secureConfig(t, dir, extra), "--rest-addr", rest)
	ctx := context.Background()
	with := func(c tls.Certificate) *tls.Config {
		return &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{c}}
	}
	reader := tlsClient(t, s.addr, with(clientCert(t, clientCA, "reader-box")))
	etl := tlsClient(t, s.addr, with(clientCert(t, clientCA, "etl-7", "etl.example.com")))
	strangerCfg := with(clientCert(t, clientCA, "stranger"))
	stranger := tlsClient(t, s.addr, strangerCfg)

	b := idBatch(0, 4)
	defer b.Release()
	if n, err := ingestRecs(ctx, etl, "events", modeCreate, b); err != nil || n != 4 {
		t.Fatalf("ingest as the SAN-mapped writer: %d %v", n, err)
	}
	_, err := ingestRecs(ctx, reader, "events", modeAppend, b)
	wantCode(t, err, codes.PermissionDenied, "events")
	if n, err := count(t, ctx, reader, "SELECT count(*) FROM events"); err != nil || n != 4 {
		t.Fatalf("query as rob by certificate: %d %v", n, err)
	}
	_, err = ingestRecs(ctx, etl, "other", modeCreate, b) // grants write:events only
	wantCode(t, err, codes.PermissionDenied, "other")
	_, err = count(t, ctx, stranger, "SELECT count(*) FROM events")
	wantCode(t, err, codes.Unauthenticated)
	root := login(t, stranger, "root", "root-pw") // credentials over an unmapped certificate
	if n, err := count(t, root, stranger, "SELECT count(*) FROM events"); err != nil || n != 4 {
		t.Fatalf("root over an unmapped certificate: %d %v", n, err)
	}

	post := func(cfg *tls.Config) (int, string) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := hc.Post("https://"+rest+"/v1/query", "application/json", strings.NewReader(`{"sql":"SELECT count(*) AS n FROM events"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := post(with(clientCert(t, clientCA, "reader-box"))); code != 200 || !strings.Contains(body, `[4]`) && !strings.Contains(body, `"n":4`) {
		t.Fatalf("REST as rob by certificate: %d %s", code, body)
	}
	if code, body := post(strangerCfg); code != http.StatusUnauthorized {
		t.Fatalf("REST with an unmapped certificate: %d %s", code, body)
	}
}
