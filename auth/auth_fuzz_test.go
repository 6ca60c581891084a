package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// FuzzAuthenticate sends arbitrary Authorization headers: each is an
// identity or ErrUnauthenticated, never a panic, and the error never
// echoes the header.
func FuzzAuthenticate(f *testing.F) {
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	a, err := New(Config{Mode: ModeAuth, JWTSecret: strings.Repeat("s", 32),
		Users:   []UserConfig{{Name: "u", PasswordHash: string(h), Roles: []string{"reader"}}},
		APIKeys: []KeyConfig{{Name: "k", KeySHA256: keyHash("the-key")}}})
	if err != nil {
		f.Fatal(err)
	}
	tok, _ := a.Issue(&Identity{Subject: "x", Roles: []string{"admin"}, Grants: []Grant{{Read, "t*"}}})
	for _, s := range []string{"", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:pw")), "Bearer the-key",
		"Bearer " + tok, "Bearer a.b.c", "Basic", "Bearer eyJhbGciOiJub25lIn0.e30.", "basic dTpwdw"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		id, err := a.Authenticate(header)
		switch {
		case err == nil && (id == nil || id.Subject == ""):
			t.Fatal("an identity without a subject")
		case err != nil && !errors.Is(err, ErrUnauthenticated):
			t.Fatalf("unclassified error %v", err)
		case err != nil && len(header) > 8 && strings.Contains(err.Error(), header):
			t.Fatal("the error echoes the credentials")
		}
	})
}

// FuzzParseJWKS reads arbitrary key sets: keys or an error, no panic.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := parseJWKS(b)
		if err == nil && len(keys) == 0 && !strings.Contains(string(b), `"use"`) {
			t.Fatal("no error and no keys")
		}
	})
}

// FuzzGrantAndNames checks grant parsing and matching on arbitrary table
// names: a parsed grant prints back to an equal grant, and Can never
// panics.
func FuzzGrantAndNames(f *testing.F) {
	for _, s := range [][2]string{{"read:events", "events"}, {"write:logs_*", "logs_1"}, {"admin:*", "X"},
		{"read:[", "a"}, {"read:a\\", "a"}, {"READ:Événements", "événements"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, grant, table string) {
		g, err := ParseGrant(grant)
		if err != nil {
			return
		}
		back, err := ParseGrant(g.String())
		if err != nil || back != g {
			t.Fatalf("%q -> %v -> %v, %v", grant, g, back, err)
		}
		id := &Identity{Subject: "x", Grants: []Grant{g}}
		if id.Can(table, g.Perm) != id.Can(strings.ToUpper(table), g.Perm) && strings.ToLower(strings.ToUpper(table)) == strings.ToLower(table) {
			t.Fatalf("case changes the answer for %q", table)
		}
	})
}

// FuzzConfig builds authenticators from arbitrary fields: an error or a
// usable authenticator.
func FuzzConfig(f *testing.F) {
	f.Add("auth", "u", "$2a$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", "reader", "read:*", "00", int64(0))
	f.Add("auth", "u", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "writer", "write:t", "", int64(time.Hour))
	f.Fuzz(func(t *testing.T, mode, name, hash, role, grant, keyHex string, skew int64) {
		cfg := Config{Mode: mode, ClockSkew: time.Duration(skew), Users: []UserConfig{{Name: name, PasswordHash: hash, Roles: []string{role}, Grants: []string{grant}}}}
		if keyHex != "" {
			cfg.APIKeys = []KeyConfig{{Name: "k", KeySHA256: keyHex}}
		}
		if err := cfg.Validate(); err != nil {
			return
		}
		// Valid hashes that are slow to check are left out: one execution
		// must stay in the milliseconds, because the fuzzer minimises each
		// new input for up to a minute by running it again and again, and
		// make test stalled for 20-60 s that way with hashes costing tens
		// of milliseconds (argon2 up to 64 MiB, bcrypt up to cost 10).
		if p, err := parseArgon2(hash); err == nil && uint64(p.memory)*uint64(p.time) > 1<<12 {
			return // up to 4 GiB × 64 passes: seconds
		}
		if cost, err := bcrypt.Cost([]byte(hash)); err == nil && cost > bcrypt.MinCost {
			return // each step doubles the time; the fuzzer may reach 31 (days)
		}
		a, err := New(cfg)
		if err != nil {
			t.Fatalf("Validate passed, New failed: %v", err)
		}
		a.Authenticate("Basic " + base64.StdEncoding.EncodeToString([]byte(name+":x")))
	})
}
