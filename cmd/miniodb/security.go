package main

import (
	"fmt"
	"time"

	"github.com/miniodb/miniodb/auth"
)

// SecurityConfig is the security section: authentication (auth.Config's
// keys) and the per-table grants of its users and API keys.
//
//	security:
//	  mode: auth                 # none (default; loopback only unless --insecure) or auth
//	  jwt_secret: "..."          # HS256, >= 32 bytes; signs the Flight handshake's tokens
//	  jwks_file: /etc/miniodb/jwks.json   # RS256/ES256 public keys
//	  users:
//	    - {name: alice, password_hash: "$2b$10$...", roles: [reader], grants: ["write:events"]}
//	  api_keys:
//	    - {name: loader, key_sha256: "<hex sha256 of the key>", roles: [writer]}
//	  enable_tls: true
//	  tls: {cert_file: server.pem, key_file: server-key.pem, client_ca_file: clients-ca.pem}
//	  client_certs:              # mTLS: a certificate's CN or SAN authenticates as a user
//	    - {name: etl.example.com, user: alice}
//	  rate_limit: {requests_per_second: 50, burst: 100}   # include_loopback: false
//	  login_lockout: {max_failures: 5, client_max_failures: 20, lockout: 30s, max_lockout: 15m}
type SecurityConfig struct {
	Mode      string            `yaml:"mode"`
	JWTSecret string            `yaml:"jwt_secret"`
	JWKSFile  string            `yaml:"jwks_file"`
	Issuer    string            `yaml:"issuer"`
	Audience  string            `yaml:"audience"`
	TokenTTL  time.Duration     `yaml:"token_ttl"`
	ClockSkew time.Duration     `yaml:"clock_skew"`
	Users     []auth.UserConfig `yaml:"users"`
	APIKeys   []auth.KeyConfig  `yaml:"api_keys"`
	// EnableTLS serves both listeners over TLS with TLS's certificate
	// (security_tls.go).
	EnableTLS bool      `yaml:"enable_tls"`
	TLS       TLSConfig `yaml:"tls"`
	// RateLimit throttles each user, API key or (unauthenticated) client
	// address; off by default and for loopback clients.
	RateLimit auth.RateConfig `yaml:"rate_limit"`
	// ClientCerts map mTLS client certificates (CN or SAN) to users or
	// roles (auth.CertConfig); they need tls.client_ca_file.
	ClientCerts []auth.CertConfig `yaml:"client_certs"`
	// LoginLockout locks a user name after failed Basic logins, and a
	// client host after more (auth.LockoutConfig); on by default.
	LoginLockout auth.LockoutConfig `yaml:"login_lockout"`
}

func (s SecurityConfig) auth() auth.Config {
	return auth.Config{Mode: s.Mode, JWTSecret: s.JWTSecret, JWKSFile: s.JWKSFile, Issuer: s.Issuer,
		Audience: s.Audience, TokenTTL: s.TokenTTL, ClockSkew: s.ClockSkew, Users: s.Users, APIKeys: s.APIKeys,
		Lockout: s.LoginLockout, ClientCerts: s.ClientCerts}
}

// authEnabled reports whether every call must authenticate.
func (c Config) authEnabled() bool { return c.Security.auth().Enabled() }

// validateSecurity checks the security section.
func (c Config) validateSecurity() error {
	if err := c.Security.auth().Validate(); err != nil {
		return fmt.Errorf("security: %w", err)
	}
	if r := c.Security.RateLimit; r.Rate < 0 || r.Burst < 0 || (r.Rate == 0 && (r.Burst > 0 || r.Loopback)) {
		return fmt.Errorf("security.rate_limit: requests_per_second must be positive when burst or include_loopback is set")
	}
	if c.Query.MaxConcurrentPerUser < 0 {
		return fmt.Errorf("query.max_concurrent_per_user %d must not be negative", c.Query.MaxConcurrentPerUser)
	}
	if c.Query.MaxConcurrentPerUser > 0 && !c.authEnabled() {
		return fmt.Errorf("query.max_concurrent_per_user counts per authenticated user: it needs security.mode auth")
	}
	if c.Cache.MemoryBytes < 0 {
		return fmt.Errorf("cache.memory_bytes must not be negative (0: no memory cache)")
	}
	if c.Query.MaxResultRows < 0 || c.Query.MaxResultBytes < 0 {
		return fmt.Errorf("query.max_result_rows and max_result_bytes must not be negative (0: no cap)")
	}
	if len(c.Security.ClientCerts) > 0 && c.Security.TLS.ClientCAFile == "" {
		return fmt.Errorf("security.client_certs map client certificates: they need security.tls.client_ca_file")
	}
	if c.Server.MaxMessageBytes <= 0 {
		return fmt.Errorf("server.max_message_bytes %d must be positive", c.Server.MaxMessageBytes)
	}
	if c.Server.StreamIdleTimeout < 0 {
		return fmt.Errorf("server.stream_idle_timeout %s must not be negative (0: never)", c.Server.StreamIdleTimeout)
	}
	if c.Query.Timeout < 0 {
		return fmt.Errorf("query.timeout %s must not be negative", c.Query.Timeout)
	}
	return c.validateTLS()
}

// newAuthenticator returns the node's authenticator, nil when
// security.mode is none.
func newAuthenticator(c Config) (*auth.Authenticator, error) {
	if !c.authEnabled() {
		return nil, nil
	}
	return auth.New(c.Security.auth())
}
