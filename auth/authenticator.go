package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Authenticator turns credentials into identities and issues tokens. It is
// immutable after New, but for the failed-login counts, and safe for
// concurrent use.
type Authenticator struct {
	lock   *lockout             // nil: login_lockout off
	certs  map[string]*Identity // client certificate name -> identity
	cfg    Config
	users  map[string]user
	keys   map[[sha256.Size]byte]*Identity
	secret []byte
	jwks   map[string]any // kid -> *rsa.PublicKey or *ecdsa.PublicKey
	parser *jwt.Parser
	now    func() time.Time
}

type user struct {
	hash string
	id   *Identity
}

// New builds an Authenticator from cfg (its Mode is not consulted).
func New(cfg Config) (*Authenticator, error) {
	cfg.setDefaults()
	a := &Authenticator{cfg: cfg, users: map[string]user{}, keys: map[[sha256.Size]byte]*Identity{}, now: time.Now,
		lock: newLockout(cfg.Lockout), certs: map[string]*Identity{}}
	for i, u := range cfg.Users {
		if u.Name == "" {
			return nil, fmt.Errorf("security.users[%d]: name is required", i)
		}
		if err := checkHash(u.PasswordHash); err != nil {
			return nil, fmt.Errorf("security.users[%s].password_hash: %w", u.Name, err)
		}
		id, err := newIdentity(u.Name, u.Roles, u.Grants)
		if err != nil {
			return nil, fmt.Errorf("security.users[%s]: %w", u.Name, err)
		}
		if _, dup := a.users[u.Name]; dup {
			return nil, fmt.Errorf("security.users: %q twice", u.Name)
		}
		a.users[u.Name] = user{hash: u.PasswordHash, id: id}
	}
	for i, k := range cfg.APIKeys {
		sum, err := hex.DecodeString(k.KeySHA256)
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("security.api_keys[%d] (%s): key_sha256 must be 64 hex digits", i, k.Name)
		}
		id, err := newIdentity(k.Name, k.Roles, k.Grants)
		if err != nil {
			return nil, fmt.Errorf("security.api_keys[%d] (%s): %w", i, k.Name, err)
		}
		a.keys[[sha256.Size]byte(sum)] = id
	}
	if err := a.certIdentities(cfg.ClientCerts); err != nil {
		return nil, err
	}
	a.secret = []byte(cfg.JWTSecret)
	if len(a.secret) == 0 {
		a.secret = make([]byte, 32)
		rand.Read(a.secret)
	}
	if cfg.JWKSFile != "" {
		keys, err := loadJWKS(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("security.jwks_file: %w", err)
		}
		a.jwks = keys
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256", "RS256", "ES256"}), jwt.WithLeeway(cfg.ClockSkew),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(func() time.Time { return a.now() })}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	a.parser = jwt.NewParser(opts...)
	return a, nil
}

// Authenticate checks an Authorization header value: "Basic ..." or
// "Bearer ...". Any failure is ErrUnauthenticated. It is
// AuthenticateFrom with an unknown client.
func (a *Authenticator) Authenticate(header string) (*Identity, error) {
	return a.AuthenticateFrom(header, "")
}

// AuthenticateFrom checks an Authorization header value sent from client
// (host:port or host; "": unknown). Failed Basic logins count against the
// user name and the client host (Config.Lockout); while either is locked,
// its Basic logins are refused with a *ThrottledError (which is also
// ErrUnauthenticated) before any password is checked. Bearer tokens are
// not counted: API keys and signed tokens cannot be guessed.
func (a *Authenticator) AuthenticateFrom(header, client string) (*Identity, error) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "Basic") || a.lock == nil {
		return a.authenticate(header)
	}
	name, _, _ := decodeBasic(strings.TrimLeft(cred, " "))
	now := a.now()
	if err := a.lock.check(name, client, now); err != nil {
		return nil, err
	}
	id, err := a.authenticate(header)
	if err != nil {
		a.lock.failed(name, client, now)
		return nil, err
	}
	a.lock.succeeded(name)
	return id, nil
}

func (a *Authenticator) authenticate(header string) (*Identity, error) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	cred = strings.TrimLeft(cred, " ")
	switch {
	case cred == "":
		return nil, ErrUnauthenticated
	case strings.EqualFold(scheme, "Basic"):
		name, pass, ok := decodeBasic(cred)
		if !ok {
			return nil, ErrUnauthenticated
		}
		return a.Basic(name, pass)
	case strings.EqualFold(scheme, "Bearer"):
		return a.Bearer(cred)
	}
	return nil, ErrUnauthenticated
}

func decodeBasic(cred string) (string, string, bool) {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(cred); err != nil {
			return "", "", false
		}
	}
	return strings.Cut(string(b), ":")
}

// Basic checks a user's password.
func (a *Authenticator) Basic(name, password string) (*Identity, error) {
	u, ok := a.users[name]
	if !ok {
		verifyPassword(dummyHash(), password) // NOTE: same cost as a known user, so timing does not reveal names
		return nil, ErrUnauthenticated
	}
	if !verifyPassword(u.hash, password) {
		return nil, ErrUnauthenticated
	}
	return u.id, nil
}

// Bearer checks an API key or a JWT.
func (a *Authenticator) Bearer(token string) (*Identity, error) {
	sum := sha256.Sum256([]byte(token))
	for k, id := range a.keys {
		if subtle.ConstantTimeCompare(k[:], sum[:]) == 1 {
			return id, nil
		}
	}
	if strings.Count(token, ".") != 2 {
		return nil, ErrUnauthenticated
	}
	return a.verifyJWT(token)
}

// claims are the JWT claims MinIODB reads and writes.
type claims struct {
	jwt.RegisteredClaims
	Roles  []string `json:"roles,omitempty"`
	Grants []string `json:"grants,omitempty"`
}

func (a *Authenticator) verifyJWT(token string) (*Identity, error) {
	var c claims
	_, err := a.parser.ParseWithClaims(token, &c, a.key)
	if err != nil || c.Subject == "" {
		return nil, ErrUnauthenticated
	}
	id, err := newIdentity(c.Subject, c.Roles, c.Grants)
	if err != nil {
		return nil, ErrUnauthenticated
	}
	return id, nil
}

// key picks the verification key for a token by its algorithm and kid.
func (a *Authenticator) key(t *jwt.Token) (any, error) {
	if t.Method.Alg() == "HS256" {
		return a.secret, nil // NOTE: without jwt_secret a random one: only this process's tokens verify
	}
	kid, _ := t.Header["kid"].(string)
	if k, ok := a.jwks[kid]; ok && keyFits(t.Method.Alg(), k) {
		return k, nil
	}
	if kid == "" { // one key of the right type
		for _, k := range a.jwks {
			if keyFits(t.Method.Alg(), k) {
				return k, nil
			}
		}
	}
	return nil, errors.New("no key")
}

// Issue signs an HS256 token for id, valid for Config.TokenTTL.
func (a *Authenticator) Issue(id *Identity) (string, error) {
	now := a.now()
	c := claims{RegisteredClaims: jwt.RegisteredClaims{Subject: id.Subject, Issuer: a.cfg.Issuer,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(a.cfg.TokenTTL))}, Roles: id.Roles}
	if a.cfg.Audience != "" {
		c.Audience = jwt.ClaimStrings{a.cfg.Audience}
	}
	for _, g := range id.Grants {
		c.Grants = append(c.Grants, g.String())
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	s, err := t.SignedString(a.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}
