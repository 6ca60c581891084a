package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSConfig is security.tls: the certificate both listeners (gRPC and
// REST) present, and optionally the CA that client certificates must
// chain to (mTLS). Files are re-read when they change (checked at most
// every reloadEvery), so a renewed certificate is served to new
// connections without a restart.
type TLSConfig struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"` // set: every client must present a certificate it signed
}

// reloadEvery bounds how often the certificate files are checked.
const reloadEvery = time.Second

func (c Config) validateTLS() error {
	t := c.Security.TLS
	if !c.Security.EnableTLS {
		if t != (TLSConfig{}) {
			return errors.New("security.tls is set but security.enable_tls is false")
		}
		return nil
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return errors.New("security.enable_tls needs security.tls.cert_file and key_file")
	}
	_, err := newCertReloader(t)
	return err
}

// serverTLS returns a listener's TLS config offering the ALPN protocols
// protos (gRPC: h2), nil when TLS is off.
func serverTLS(c Config, protos ...string) (*tls.Config, error) {
	if !c.Security.EnableTLS {
		return nil, nil
	}
	r, err := newCertReloader(c.Security.TLS)
	if err != nil {
		return nil, err
	}
	base := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: protos}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		st, err := r.current()
		if err != nil {
			return nil, err
		}
		cfg := base.Clone()
		cfg.GetConfigForClient = nil
		cfg.Certificates = []tls.Certificate{*st.cert}
		if st.clientCAs != nil {
			cfg.ClientCAs, cfg.ClientAuth = st.clientCAs, tls.RequireAndVerifyClientCert
		}
		return cfg, nil
	}
	return base, nil
}

// certReloader holds the certificate, key and client CA, re-read when a
// file's modification time or size changes.
type certReloader struct {
	cfg     TLSConfig
	mu      sync.Mutex
	checked time.Time
	stamp   string
	st      *tlsState
}

type tlsState struct {
	cert      *tls.Certificate
	clientCAs *x509.CertPool
}

func newCertReloader(cfg TLSConfig) (*certReloader, error) {
	r := &certReloader{cfg: cfg}
	if _, err := r.current(); err != nil {
		return nil, err
	}
	return r, nil
}

// current returns the loaded state, reloading it if the files changed.
// A failed reload keeps serving the previous certificate.
func (r *certReloader) current() (*tlsState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st != nil && time.Since(r.checked) < reloadEvery {
		return r.st, nil
	}
	r.checked = time.Now()
	stamp := r.fileStamp()
	if r.st != nil && stamp == r.stamp {
		return r.st, nil
	}
	st, err := loadTLS(r.cfg)
	if err != nil {
		if r.st != nil {
			return r.st, nil // NOTE: a half-written renewal must not break the listener
		}
		return nil, err
	}
	r.st, r.stamp = st, stamp
	return st, nil
}

func (r *certReloader) fileStamp() string {
	var s string
	for _, f := range []string{r.cfg.CertFile, r.cfg.KeyFile, r.cfg.ClientCAFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%s:%d:%d;", f, fi.ModTime().UnixNano(), fi.Size())
		}
	}
	return s
}

func loadTLS(cfg TLSConfig) (*tlsState, error) {
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("security.tls: load certificate: %w", err)
	}
	st := &tlsState{cert: &cert}
	if cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("security.tls.client_ca_file: %w", err)
		}
		st.clientCAs = x509.NewCertPool()
		if !st.clientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("security.tls.client_ca_file %s: no PEM certificates", cfg.ClientCAFile)
		}
	}
	return st, nil
}
