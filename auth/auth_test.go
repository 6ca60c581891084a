package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

const secret = "0123456789abcdef0123456789abcdef"

func bcryptHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func argonHash(pw string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 1, 64, 1, 32)
	return "$argon2id$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
}

func keyHash(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }

func newTestAuth(t *testing.T, mod func(*Config)) *Authenticator {
	t.Helper()
	cfg := Config{Mode: ModeAuth, JWTSecret: secret,
		Users: []UserConfig{
			{Name: "alice", PasswordHash: bcryptHash(t, "pw-alice"), Roles: []string{"reader"}, Grants: []string{"write:events"}},
			{Name: "bob", PasswordHash: argonHash("pw-bob"), Grants: []string{"read:logs_*"}},
		},
		APIKeys: []KeyConfig{{Name: "loader", KeySHA256: keyHash("key-loader-123"), Roles: []string{"writer"}}},
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func basic(u, p string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))
}

func TestAuthenticate(t *testing.T) {
	a := newTestAuth(t, nil)
	tok, err := a.Issue(&Identity{Subject: "carol", Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, header, subject string
	}{
		{"bcrypt_user", basic("alice", "pw-alice"), "alice"},
		{"argon2id_user", basic("bob", "pw-bob"), "bob"},
		{"basic_without_padding", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("alice:pw-alice")), "alice"},
		{"api_key", "Bearer key-loader-123", "loader"},
		{"scheme_case_insensitive", "bearer key-loader-123", "loader"},
		{"issued_jwt", "Bearer " + tok, "carol"},
		{"wrong_password", basic("alice", "pw-bob"), ""},
		{"unknown_user", basic("mallory", "pw-alice"), ""},
		{"empty", "", ""},
		{"no_credential", "Bearer ", ""},
		{"unknown_scheme", "Digest abc", ""},
		{"bad_base64", "Basic !!!", ""},
		{"basic_no_colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice")), ""},
		{"unknown_key", "Bearer key-loader-124", ""},
		{"tampered_jwt", "Bearer " + tok[:len(tok)-2] + "xx", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.Authenticate(tc.header)
			if tc.subject == "" {
				if !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("got %v, %v; want ErrUnauthenticated", id, err)
				}
				return
			}
			if err != nil || id.Subject != tc.subject {
				t.Fatalf("got %v, %v; want %s", id, err, tc.subject)
			}
		})
	}
}

func TestErrorsNeverCarrySecrets(t *testing.T) {
	a := newTestAuth(t, nil)
	_, err := a.Authenticate(basic("alice", "hunter2-secret"))
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "alice") {
		t.Fatalf("error %v", err)
	}
}

func signHS(t *testing.T, key []byte, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWTHS256Expiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := newTestAuth(t, func(c *Config) { c.ClockSkew = time.Minute; c.Issuer = "idp" })
	a.now = func() time.Time { return now }
	base := func(exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"sub": "dave", "iss": "idp", "exp": exp.Unix(), "roles": []string{"reader"}}
	}
	for _, tc := range []struct {
		name string
		tok  string
		ok   bool
	}{
		{"valid", signHS(t, []byte(secret), base(now.Add(time.Hour))), true},
		{"expired_within_skew", signHS(t, []byte(secret), base(now.Add(-30*time.Second))), true},
		{"expired_beyond_skew", signHS(t, []byte(secret), base(now.Add(-2*time.Minute))), false},
		{"no_exp", signHS(t, []byte(secret), jwt.MapClaims{"sub": "dave", "iss": "idp"}), false},
		{"not_yet_valid", signHS(t, []byte(secret), jwt.MapClaims{"sub": "dave", "iss": "idp", "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(5 * time.Minute).Unix()}), false},
		{"wrong_issuer", signHS(t, []byte(secret), jwt.MapClaims{"sub": "dave", "iss": "other", "exp": now.Add(time.Hour).Unix()}), false},
		{"wrong_secret", signHS(t, []byte("another-secret-another-secret-xx"), base(now.Add(time.Hour))), false},
		{"no_subject", signHS(t, []byte(secret), jwt.MapClaims{"iss": "idp", "exp": now.Add(time.Hour).Unix()}), false},
		{"unknown_role", signHS(t, []byte(secret), jwt.MapClaims{"sub": "d", "iss": "idp", "exp": now.Add(time.Hour).Unix(), "roles": []string{"root"}}), false},
		{"alg_none", noneToken(base(now.Add(time.Hour))), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Bearer(tc.tok)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func noneToken(c jwt.MapClaims) string {
	s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	return s
}

func writeJWKS(t *testing.T, keys ...map[string]string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"keys": keys})
	p := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func b64(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.Bytes()) }

func TestJWKSRS256AndES256(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	file := writeJWKS(t,
		map[string]string{"kty": "RSA", "kid": "r1", "n": b64(rk.N), "e": b64(big.NewInt(int64(rk.E)))},
		map[string]string{"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64(ek.X), "y": b64(ek.Y)})
	a := newTestAuth(t, func(c *Config) { c.JWKSFile = file })
	claims := jwt.MapClaims{"sub": "svc", "exp": time.Now().Add(time.Hour).Unix(), "grants": []string{"read:t"}}
	sign := func(m jwt.SigningMethod, kid string, key any) string {
		tk := jwt.NewWithClaims(m, claims)
		if kid != "" {
			tk.Header["kid"] = kid
		}
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		tok  string
		ok   bool
	}{
		{"rs256", sign(jwt.SigningMethodRS256, "r1", rk), true},
		{"es256", sign(jwt.SigningMethodES256, "e1", ek), true},
		{"rs256_no_kid", sign(jwt.SigningMethodRS256, "", rk), true},
		{"rs256_wrong_key", sign(jwt.SigningMethodRS256, "r1", other), false},
		{"es256_with_rsa_kid", sign(jwt.SigningMethodES256, "r1", ek), false},
		{"rs384_refused", sign(jwt.SigningMethodRS384, "r1", rk), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.Bearer(tc.tok)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && !id.Can("t", Read) {
				t.Fatalf("grant lost: %+v", id)
			}
		})
	}
}

func TestGrants(t *testing.T) {
	id, err := newIdentity("x", []string{"reader"}, []string{"write:events", "admin:scratch_*"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		table string
		perm  Perm
		ok    bool
	}{
		{"anything", Read, true}, {"anything", Write, false},
		{"events", Write, true}, {"EVENTS", Write, true}, {"events", Admin, false},
		{"scratch_1", Admin, true}, {"scratch_1", Write, true}, {"scratch", Admin, false},
	} {
		if got := id.Can(tc.table, tc.perm); got != tc.ok {
			t.Errorf("Can(%s, %s) = %v", tc.table, tc.perm, got)
		}
	}
	if id.IsAdmin() {
		t.Error("reader is admin")
	}
	ctx := NewContext(context.Background(), id)
	a := &Authenticator{}
	var denied *DeniedError
	if err := Check(ctx, a, "events", Admin); !errors.As(err, &denied) || !strings.Contains(err.Error(), `"events"`) {
		t.Fatalf("Check: %v", err)
	}
	if err := Check(context.Background(), a, "events", Read); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("no identity: %v", err)
	}
	if err := Check(context.Background(), nil, "events", Admin); err != nil {
		t.Fatalf("auth off: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"none", Config{}, ""},
		{"bad_mode", Config{Mode: "open"}, "want none or auth"},
		{"auth_without_credentials", Config{Mode: ModeAuth}, "needs users"},
		{"short_secret", Config{Mode: ModeAuth, JWTSecret: "short"}, "32 bytes"},
		{"plain_password", Config{Mode: ModeAuth, Users: []UserConfig{{Name: "a", PasswordHash: "secret"}}}, "not a password"},
		{"bad_key_hash", Config{Mode: ModeAuth, APIKeys: []KeyConfig{{Name: "k", KeySHA256: "abc"}}}, "64 hex"},
		{"bad_role", Config{Mode: ModeAuth, APIKeys: []KeyConfig{{Name: "k", KeySHA256: keyHash("x"), Roles: []string{"root"}}}}, "unknown role"},
		{"bad_grant", Config{Mode: ModeAuth, APIKeys: []KeyConfig{{Name: "k", KeySHA256: keyHash("x"), Grants: []string{"events"}}}}, "perm:table"},
		{"bad_pattern", Config{Mode: ModeAuth, APIKeys: []KeyConfig{{Name: "k", KeySHA256: keyHash("x"), Grants: []string{"read:["}}}}, "bad pattern"},
		{"credentials_without_auth_mode", Config{APIKeys: []KeyConfig{{Name: "k", KeySHA256: keyHash("x")}}}, "only with security.mode auth"},
		{"missing_jwks", Config{Mode: ModeAuth, JWKSFile: "/nonexistent/jwks.json"}, "jwks_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}
