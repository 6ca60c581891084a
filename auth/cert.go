package auth

import (
	"crypto/x509"
	"fmt"
)

// CertConfig maps a client certificate to an identity (mTLS: the
// certificate chains to security.tls.client_ca_file, which the TLS layer
// has verified before any call). Name is matched against the leaf
// certificate's subject CN and its SANs (DNS names, email addresses,
// URIs), exactly. The identity is User's, a user or API key of this
// config, or, without User, Name with Roles and Grants.
//
//	client_certs:
//	  - {name: loader.example.com, user: alice}
//	  - {name: "spiffe://example.com/etl", roles: [writer]}
type CertConfig struct {
	Name   string   `yaml:"name"`
	User   string   `yaml:"user"`
	Roles  []string `yaml:"roles"`
	Grants []string `yaml:"grants"`
}

// certIdentities builds the name -> identity map of cfg.ClientCerts; the
// users and keys must be loaded first.
func (a *Authenticator) certIdentities(certs []CertConfig) error {
	byKeyName := map[string]*Identity{}
	for _, id := range a.keys {
		byKeyName[id.Subject] = id
	}
	for i, c := range certs {
		if c.Name == "" {
			return fmt.Errorf("security.client_certs[%d]: name is required", i)
		}
		if _, dup := a.certs[c.Name]; dup {
			return fmt.Errorf("security.client_certs: %q twice", c.Name)
		}
		if c.User == "" {
			id, err := newIdentity(c.Name, c.Roles, c.Grants)
			if err != nil {
				return fmt.Errorf("security.client_certs[%s]: %w", c.Name, err)
			}
			a.certs[c.Name] = id
			continue
		}
		if len(c.Roles) > 0 || len(c.Grants) > 0 {
			return fmt.Errorf("security.client_certs[%s]: user and roles/grants exclude each other", c.Name)
		}
		if u, ok := a.users[c.User]; ok {
			a.certs[c.Name] = u.id
		} else if id, ok := byKeyName[c.User]; ok {
			a.certs[c.Name] = id
		} else {
			return fmt.Errorf("security.client_certs[%s]: user %q is not in security.users or api_keys", c.Name, c.User)
		}
	}
	return nil
}

// Certificate returns the identity of a client that sent no credentials
// but presented a certificate, given the verified chains of its TLS
// connection (leaf first). No chain, or a leaf no client_certs entry
// names, is ErrUnauthenticated.
func (a *Authenticator) Certificate(chains [][]*x509.Certificate) (*Identity, error) {
	if len(chains) == 0 || len(chains[0]) == 0 || len(a.certs) == 0 {
		return nil, ErrUnauthenticated
	}
	leaf := chains[0][0]
	names := append([]string{leaf.Subject.CommonName}, leaf.DNSNames...)
	names = append(names, leaf.EmailAddresses...)
	for _, u := range leaf.URIs {
		names = append(names, u.String())
	}
	for _, n := range names {
		if id, ok := a.certs[n]; ok && n != "" {
			return id, nil
		}
	}
	return nil, ErrUnauthenticated
}
