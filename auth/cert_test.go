package auth

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestCertificateIdentity(t *testing.T) {
	a := newTestAuth(t, func(c *Config) {
		c.ClientCerts = []CertConfig{
			{Name: "box-1", User: "alice"},
			{Name: "etl.example.com", Roles: []string{"writer"}},
			{Name: "spiffe://example.com/loader", User: "loader"},
		}
	})
	leaf := func(cn string, dns []string, uri string) [][]*x509.Certificate {
		c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
		if uri != "" {
			u, _ := url.Parse(uri)
			c.URIs = []*url.URL{u}
		}
		return [][]*x509.Certificate{{c}}
	}
	for _, tc := range []struct {
		name   string
		chains [][]*x509.Certificate
		want   string
	}{
		{"cn_to_user", leaf("box-1", nil, ""), "alice"},
		{"dns_san_to_roles", leaf("host-9", []string{"x.example.com", "etl.example.com"}, ""), "etl.example.com"},
		{"uri_san_to_api_key", leaf("", nil, "spiffe://example.com/loader"), "loader"},
		{"unmapped", leaf("stranger", []string{"stranger.example.com"}, ""), ""},
		{"no_certificate", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.Certificate(tc.chains)
			if tc.want == "" {
				if !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("got %v %v, want ErrUnauthenticated", id, err)
				}
				return
			}
			if err != nil || id.Subject != tc.want {
				t.Fatalf("got %v %v, want %s", id, err, tc.want)
			}
		})
	}
	id, _ := a.Certificate(leaf("box-1", nil, ""))
	if len(id.Roles) != 1 || id.Roles[0] != "reader" {
		t.Fatalf("box-1 is not authorized like alice: %+v", id)
	}
}

func TestCertificateConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cc   CertConfig
		want string
	}{
		{"unknown_user", CertConfig{Name: "x", User: "nobody"}, "not in security.users"},
		{"user_and_roles", CertConfig{Name: "x", User: "alice", Roles: []string{"admin"}}, "exclude each other"},
		{"no_name", CertConfig{User: "alice"}, "name is required"},
		{"bad_role", CertConfig{Name: "x", Roles: []string{"superuser"}}, "unknown role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Mode: ModeAuth, Users: []UserConfig{{Name: "alice", PasswordHash: bcryptHash(t, "pw"), Roles: []string{"reader"}}},
				ClientCerts: []CertConfig{tc.cc}}
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}
