// Package deploy holds MinIODB's deployment files — docker/ (Dockerfile,
// docker-compose.yml), k8s/ (manifests), ansible/ (role, systemd unit,
// playbook), grafana/ (dashboard) — and its one job as Go code is to test
// them against the real binary, so that a manifest cannot drift from the
// configuration keys, ports, probe paths and metric names the node actually
// has.
//
// The tests build cmd/miniodb once (TestMain) and then, for every file:
//
//   - extract each node configuration it renders (the compose file's config,
//     the ConfigMap, the Ansible template rendered with the inventory's
//     values) and run `miniodb serve --check-config` on it with the
//     environment the manifest sets;
//   - prove that every MINIODB_<SECTION>_<KEY> variable names a real key:
//     the binary's strict YAML decoder accepts the key path it spells;
//   - start real nodes (loopback ports, the real Redis and MinIO servers of
//     testenv) from those configurations and GET the probe paths, the node
//     list and /metrics;
//   - check that ports, volume mount paths and stop timeouts agree with the
//     configuration (server.grpc_port, server.rest_port, server.data_dir,
//     server.drain_timeout);
//   - run the systemd unit's ExecStart under a temporary root and stop it
//     with SIGTERM within TimeoutStopSec;
//   - check the Grafana dashboard's metric names against a live node's
//     /metrics, and README.md's REST paths against api/openapi.json.
//
// No container engine, kubectl or ansible is needed: the files are parsed as
// YAML (gopkg.in/yaml.v3) and the few template expressions the Ansible role
// uses ({{ var }}) are rendered by the test itself.
package deploy
