package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Modes of Config.Mode.
const (
	ModeNone = "none" // no authentication: only on loopback unless --insecure
	ModeAuth = "auth" // every call authenticates (Basic, API key or JWT)
)

// Config is the security section's authentication part. Zero values take
// the defaults noted.
type Config struct {
	// Mode is "none" (default) or "auth".
	Mode string `yaml:"mode"`
	// JWTSecret verifies HS256 tokens and signs the handshake's tokens;
	// empty: a random secret per process.
	JWTSecret string `yaml:"jwt_secret"`
	// JWKSFile is a JSON Web Key Set (RSA and EC P-256 public keys) that
	// verifies RS256 and ES256 tokens.
	JWKSFile string `yaml:"jwks_file"`
	// Issuer and Audience, when set, are required in every JWT (and put
	// into issued ones).
	Issuer   string `yaml:"issuer"`
	Audience string `yaml:"audience"`
	// TokenTTL is how long a handshake token lives; default 1h.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// ClockSkew is the leeway on exp/nbf/iat; default 30s.
	ClockSkew time.Duration `yaml:"clock_skew"`
	Users     []UserConfig  `yaml:"users"`
	APIKeys   []KeyConfig   `yaml:"api_keys"`
	// ClientCerts map client certificates (mTLS) to identities (cert.go).
	ClientCerts []CertConfig `yaml:"client_certs"`
	// Lockout slows password guessing (lockout.go); on by default.
	Lockout LockoutConfig `yaml:"login_lockout"`
}

// UserConfig is a user who logs in with a password.
type UserConfig struct {
	Name         string   `yaml:"name"`
	PasswordHash string   `yaml:"password_hash"` // bcrypt or argon2id (PHC string)
	Roles        []string `yaml:"roles"`
	Grants       []string `yaml:"grants"` // perm:pattern
}

// KeyConfig is an API key, sent as a bearer token.
type KeyConfig struct {
	Name      string   `yaml:"name"`
	KeySHA256 string   `yaml:"key_sha256"` // hex SHA-256 of the key
	Roles     []string `yaml:"roles"`
	Grants    []string `yaml:"grants"`
}

// Enabled reports whether calls must authenticate.
func (c Config) Enabled() bool { return strings.EqualFold(c.Mode, ModeAuth) }

func (c *Config) setDefaults() {
	if c.TokenTTL <= 0 {
		c.TokenTTL = time.Hour
	}
	if c.ClockSkew <= 0 {
		c.ClockSkew = 30 * time.Second
	}
}

// Validate checks the section without reading files or hashing.
func (c Config) Validate() error {
	switch strings.ToLower(c.Mode) {
	case "", ModeNone:
		if len(c.Users) > 0 || len(c.APIKeys) > 0 || c.JWTSecret != "" || c.JWKSFile != "" || len(c.ClientCerts) > 0 {
			return errors.New("security: users, api_keys, client_certs, jwt_secret and jwks_file take effect only with security.mode auth")
		}
		return nil
	case ModeAuth:
	default:
		return fmt.Errorf("security.mode %q: want none or auth", c.Mode)
	}
	if len(c.Users) == 0 && len(c.APIKeys) == 0 && c.JWTSecret == "" && c.JWKSFile == "" && len(c.ClientCerts) == 0 {
		return errors.New("security.mode auth needs users, api_keys, client_certs, jwt_secret or jwks_file")
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		return errors.New("security.jwt_secret must be at least 32 bytes")
	}
	if _, err := New(c); err != nil {
		return err
	}
	return nil
}
