package auth

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Perm is a permission on a table; a higher one implies the lower ones.
type Perm int

const (
	// Read is querying a table and seeing it in metadata.
	Read Perm = iota + 1
	// Write is adding rows (ingest, INSERT).
	Write
	// Admin is creating, dropping and replacing a table.
	Admin
)

func (p Perm) String() string {
	switch p {
	case Read:
		return "read"
	case Write:
		return "write"
	case Admin:
		return "admin"
	}
	return "none"
}

// ParsePerm parses read, write or admin.
func ParsePerm(s string) (Perm, error) {
	switch strings.ToLower(s) {
	case "read":
		return Read, nil
	case "write":
		return Write, nil
	case "admin":
		return Admin, nil
	}
	return 0, fmt.Errorf("unknown permission %q (want read, write or admin)", s)
}

// Roles.
const (
	RoleAdmin  = "admin"
	RoleWriter = "writer"
	RoleReader = "reader"
)

// Grant is a permission on the tables matching a pattern.
type Grant struct {
	Perm    Perm
	Pattern string // lower-case table name or path.Match pattern
}

// ParseGrant parses "perm:pattern", e.g. "read:logs_*".
func ParseGrant(s string) (Grant, error) {
	p, pat, ok := strings.Cut(s, ":")
	if !ok || pat == "" {
		return Grant{}, fmt.Errorf("grant %q: want perm:table (e.g. read:events, write:logs_*)", s)
	}
	perm, err := ParsePerm(p)
	if err != nil {
		return Grant{}, fmt.Errorf("grant %q: %w", s, err)
	}
	pat = strings.ToLower(pat)
	if _, err := path.Match(pat, ""); err != nil {
		return Grant{}, fmt.Errorf("grant %q: bad pattern: %w", s, err)
	}
	return Grant{Perm: perm, Pattern: pat}, nil
}

func (g Grant) String() string { return g.Perm.String() + ":" + g.Pattern }

// Identity is an authenticated caller.
type Identity struct {
	Subject string
	Roles   []string
	Grants  []Grant
}

// newIdentity checks roles and parses grants.
func newIdentity(subject string, roles, grants []string) (*Identity, error) {
	id := &Identity{Subject: subject}
	for _, r := range roles {
		r = strings.ToLower(r)
		if r != RoleAdmin && r != RoleWriter && r != RoleReader {
			return nil, fmt.Errorf("unknown role %q (want admin, writer or reader)", r)
		}
		id.Roles = append(id.Roles, r)
	}
	for _, s := range grants {
		g, err := ParseGrant(s)
		if err != nil {
			return nil, err
		}
		id.Grants = append(id.Grants, g)
	}
	return id, nil
}

// IsAdmin reports the admin role: node-wide operations (backup, restore).
func (id *Identity) IsAdmin() bool { return slices.Contains(id.Roles, RoleAdmin) }

// Can reports whether the identity holds perm (or a higher one) on table.
func (id *Identity) Can(table string, perm Perm) bool {
	return id.level(table) >= perm
}

// level is the highest permission the identity holds on table.
func (id *Identity) level(table string) Perm {
	var best Perm
	for _, r := range id.Roles {
		switch r {
		case RoleAdmin:
			return Admin
		case RoleWriter:
			best = max(best, Write)
		case RoleReader:
			best = max(best, Read)
		}
	}
	t := strings.ToLower(table)
	for _, g := range id.Grants {
		if ok, _ := path.Match(g.Pattern, t); ok {
			best = max(best, g.Perm)
		}
	}
	return best
}

// ErrUnauthenticated is returned for missing or invalid credentials. Its
// message never says which part was wrong.
var ErrUnauthenticated = errors.New("auth: invalid credentials")

// DeniedError refuses one permission on one table (Table empty: a
// node-wide operation).
type DeniedError struct {
	Subject string
	Table   string
	Perm    Perm
	Op      string // node-wide operation, when Table is empty
}

func (e *DeniedError) Error() string {
	if e.Table == "" {
		return fmt.Sprintf("permission denied: %s needs the admin role", e.Op)
	}
	return fmt.Sprintf("permission denied: %s on table %q", e.Perm, e.Table)
}

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity in ctx, if any.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	return id, ok && id != nil
}

// Check decides whether the caller in ctx may use perm on table. A nil
// Authenticator means authentication is off: everything is allowed. With
// it on, a context without an identity is refused (ErrUnauthenticated), so
// a path that skipped authentication fails closed.
func Check(ctx context.Context, a *Authenticator, table string, perm Perm) error {
	if a == nil {
		return nil
	}
	id, ok := FromContext(ctx)
	if !ok {
		return ErrUnauthenticated
	}
	if !id.Can(table, perm) {
		return &DeniedError{Subject: id.Subject, Table: table, Perm: perm}
	}
	return nil
}

// CheckAdmin decides whether the caller may run a node-wide operation op.
func CheckAdmin(ctx context.Context, a *Authenticator, op string) error {
	if a == nil {
		return nil
	}
	id, ok := FromContext(ctx)
	if !ok {
		return ErrUnauthenticated
	}
	if !id.IsAdmin() {
		return &DeniedError{Subject: id.Subject, Op: op}
	}
	return nil
}

// Visible reports whether the caller may see table in listings (any
// permission on it).
func Visible(ctx context.Context, a *Authenticator, table string) bool {
	return Check(ctx, a, table, Read) == nil
}
