// Package testenv gives tests the real servers MinIODB runs on: redis-server
// (standalone, sentinel and cluster) and the MinIO server. Its one job is to
// install a missing server, start it on free loopback ports in a temporary
// folder, and stop it when the test ends; tests then talk to it with the same
// clients production uses. There are no fakes here: DESIGN.md asks for the
// real servers wherever they can run.
//
// # Servers
//
//	Redis(t)         one redis-server, AOF with appendfsync always, so a
//	                 restart keeps every acknowledged write
//	RedisSentinel(t) a master plus one sentinel monitoring it as "mymaster"
//	RedisCluster(t)  three masters joined with `redis-cli --cluster create`
//	MinIO(t)         one MinIO server (single drive) with fresh credentials
//	MinIOTLS(t)      the same serving HTTPS only, its certificate signed by
//	                 a CA made for the test (CA, CAFile)
//
// Each returns a handle whose Stop, Start, Kill and Restart keep the same
// address and data folder, which is what fault tests need ("MinIO stopped for
// 60 s", "Redis restarted"). Cleanup is registered with t.Cleanup; a handle
// never outlives its test.
//
// # Installing
//
// redis-server comes from Debian (`apt-get install -y redis-server`) when it
// is not on PATH. The MinIO server is built with `go install` at the version
// pinned by MinIOVersion into <repo>/.cache/bin/minio-<version> (gitignored)
// and reused from there; $MINIODB_MINIO_BIN, $GOPATH/bin/minio and PATH are looked at first.
// Installs hold a file lock under .cache so that test binaries of several
// packages running at once build the server only once. `make deps` runs the
// same installs before the tests so that their time is not charged to a test
// timeout.
//
// Everything binds 127.0.0.1 only, and every wait is bounded by a deadline.
//
// NewCA (ca.go) makes such a throw-away CA for any TLS test; Issue writes
// the certificates it signs.
//
// FreeAddr and LogBuffer (child.go) serve the harnesses that start
// `miniodb serve` itself (cmd/miniodb, deploy, bench) the same way.
package testenv
