// Package auth is MinIODB's one place for who a caller is and what it may
// touch: identities, credentials (users with password hashes, API keys,
// JWTs), the tokens the Flight handshake issues, and table grants.
//
// It is a package of its own, not part of flight as DESIGN.md's layout
// first suggests, because three front doors share it: the Flight SQL
// service and the OlapService (gRPC interceptors in package flight) and
// the REST API (HTTP middleware in package api). Those doors only read an
// Authorization header, call [Authenticator.Authenticate] and put the
// [Identity] into the request's context; every authorization decision is
// [Check] on that context.
//
// # Credentials
//
//	Authorization: Basic base64(user:password)   users: bcrypt ($2a$/$2b$/$2y$) or
//	                                              argon2id PHC ($argon2id$v=19$m=..,t=..,p=..$salt$hash)
//	Authorization: Bearer <api key>               api_keys: key_sha256 = hex SHA-256 of the key
//	Authorization: Bearer <JWT>                   HS256 (jwt_secret) or RS256/ES256 (jwks_file)
//
//	(no header) + mTLS client certificate         client_certs: its CN or a SAN (DNS, email,
//	                                              URI) names a user / API key, or roles+grants
//
// A client certificate is only consulted when a call carries no
// Authorization header (credentials win), and only its verified chain,
// which the TLS layer checked against security.tls.client_ca_file
// (Certificate, cert.go). An unmapped certificate still needs credentials.
//
// API keys are long random strings, so a fast hash suffices and keeps the
// per-call cost low; passwords are slow-hashed and so are checked only at
// the handshake (or per REST call with Basic). Unknown users cost the same
// bcrypt comparison as known ones. Secrets never reach a log line or an
// error message: errors say "invalid credentials" and nothing else.
//
// A JWT must carry exp; nbf/iat/exp are checked with Config.ClockSkew of
// leeway, iss and aud when configured. Its claims:
//
//	{"sub": "alice", "roles": ["reader"], "grants": ["write:events", "read:logs_*"], "exp": ...}
//
// The Flight handshake issues such an HS256 token for a user (Issue), valid
// for Config.TokenTTL. Without jwt_secret a random secret is made at start:
// tokens are then valid on this process only.
//
// # Grants
//
// Permissions are ordered read < write < admin; a grant of one implies the
// lower ones. A grant is "perm:pattern" where pattern is a table name or a
// path.Match wildcard ("*", "logs_*"), matched case-insensitively as table
// names are. Roles are shorthands: admin = admin:* plus the node-wide
// operations (backup, restore); writer = write:*; reader = read:*.
//
//	read   query the table, see it in GetTables / ListTables / DescribeTable
//	write  ingest, INSERT, create it by ingest (table_management.auto_create_tables)
//	admin  CREATE TABLE, DROP TABLE, ingest with REPLACE
//
// A refusal names the table the caller asked for and nothing else; a
// caller without any permission on a table cannot tell whether it exists,
// because the check comes before any lookup.
//
// # Failed logins
//
// Password guessing is slowed by a lockout (lockout.go, Config.Lockout,
// on by default): LockoutConfig.MaxFailures failed Basic logins of one
// user name in a row lock that name, ClientMaxFailures failed Basic logins
// from one client host lock that host, first for Lockout and then twice as
// long per further failure, up to MaxLockout. While locked, a login is
// refused before its password is checked (so with the right password
// too) with a ThrottledError: RESOURCE_EXHAUSTED with retry-after over
// gRPC, 429 with Retry-After over REST. Other users, and other hosts, log
// in as before; a success clears the user name's count, not the host's.
// Bearer tokens are not counted: they cannot be guessed.
//
// # Quotas per identity
//
// Two admission controls are keyed by the same identities, so they live
// here too: [Limiter], a token bucket per user or API key (per client
// address without authentication; loopback exempt unless configured), and
// [Slots], a bound on the queries one identity runs at once, where the
// excess waits in line until a slot frees or its deadline passes.
package auth
