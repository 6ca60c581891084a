package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// dummyHash is compared against for unknown users: a bcrypt hash of a
// random string at the default cost, made on first use.
var dummyHash = sync.OnceValue(func() string {
	b := make([]byte, 16)
	rand.Read(b)
	h, _ := bcrypt.GenerateFromPassword(b, bcrypt.DefaultCost)
	return string(h)
})

// checkHash accepts a bcrypt or argon2id hash, never a plain password.
func checkHash(h string) error {
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		_, err := bcrypt.Cost([]byte(h))
		return err
	case strings.HasPrefix(h, "$argon2id$"):
		_, err := parseArgon2(h)
		return err
	}
	return errors.New("want a bcrypt ($2b$...) or argon2id ($argon2id$...) hash, not a password")
}

// verifyPassword compares in constant time for the hash's parameters.
func verifyPassword(hash, password string) bool {
	if strings.HasPrefix(hash, "$argon2id$") {
		p, err := parseArgon2(hash)
		if err != nil {
			return false
		}
		got := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
		return subtle.ConstantTimeCompare(got, p.key) == 1
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

type argon2Params struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parseArgon2 reads $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key> (base64,
// no padding).
func parseArgon2(h string) (*argon2Params, error) {
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[2] != "v=19" {
		return nil, errors.New("argon2id hash: want $argon2id$v=19$m=..,t=..,p=..$salt$key")
	}
	var p argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return nil, fmt.Errorf("argon2id parameters: %w", err)
	}
	if p.memory == 0 || p.memory > 4<<20 || p.time == 0 || p.time > 64 || p.threads == 0 {
		return nil, errors.New("argon2id parameters out of range")
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return nil, fmt.Errorf("argon2id salt: %w", err)
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 128 {
		return nil, errors.New("argon2id key: want 16..128 bytes of base64")
	}
	return &p, nil
}

// HashPassword returns a bcrypt hash of password at the default cost, for
// the configuration.
func HashPassword(password string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(b), err
}
