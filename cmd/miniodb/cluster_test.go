package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// clusterNode is one `miniodb serve` of a test cluster with its REST port.
type clusterNode struct {
	*server
	id, rest string
}

// startClusterNode starts node id on env's Redis and MinIO with a short
// lease.
func startClusterNode(t *testing.T, env *storeEnv, id string, extra string) *clusterNode {
	t.Helper()
	cfg := env.config(t, fmt.Sprintf("server:\n  node_id: %q\ncluster:\n  lease: 1s\n%s", id, extra))
	rest := freeAddr(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--config", cfg, "--rest-addr", rest)
	return &clusterNode{server: s, id: id, rest: rest}
}

type nodeList struct {
	Total int `json:"total"`
	Nodes []struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		Address     string `json:"address"`
		RESTAddress string `json:"rest_address"`
	} `json:"nodes"`
}

func (n *clusterNode) nodes(t *testing.T) nodeList {
	t.Helper()
	resp, err := http.Get("http://" + n.rest + "/v1/nodes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out nodeList
	if resp.StatusCode != 200 {
		t.Fatalf("/v1/nodes: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// states maps node id to status as n sees them.
func (n *clusterNode) states(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, x := range n.nodes(t).Nodes {
		out[x.ID] = x.Status
	}
	return out
}

// Three nodes on one Redis and one MinIO see each other in /v1/nodes; a
// SIGKILLed node is listed down once its lease runs out and healthy again
// after a restart; a node stopped with SIGTERM leaves the list; a second
// process claiming a live node's id is refused.
func TestClusterMembership(t *testing.T) {
	env := newStoreEnv(t)
	a := startClusterNode(t, env, "node-a", "")
	b := startClusterNode(t, env, "node-b", "")
	c := startClusterNode(t, env, "node-c", "")
	waitUntil(t, 10*time.Second, "three nodes listed healthy", func() bool {
		st := a.states(t)
		return len(st) == 3 && st["node-a"] == "healthy" && st["node-b"] == "healthy" && st["node-c"] == "healthy"
	})
	for _, x := range b.nodes(t).Nodes {
		want := map[string]*clusterNode{"node-a": a, "node-b": b, "node-c": c}[x.ID]
		if want == nil || x.Address != want.addr || x.RESTAddress != want.rest {
			t.Fatalf("node-b lists %+v, want the advertised addresses of %s (%s, %s)", x, x.ID, want.addr, want.rest)
		}
	}

	killed := time.Now()
	c.kill()
	waitUntil(t, 10*time.Second, "node-c listed down after SIGKILL", func() bool { return b.states(t)["node-c"] == "down" })
	t.Logf("SIGKILLed node listed down after %s (lease 1s)", time.Since(killed).Round(10*time.Millisecond))
	c.restart()
	waitUntil(t, 10*time.Second, "node-c healthy after restart", func() bool { return a.states(t)["node-c"] == "healthy" })

	b.stop()
	waitUntil(t, 10*time.Second, "node-b gone after SIGTERM", func() bool {
		_, listed := a.states(t)["node-b"]
		return !listed
	})

	out := serveFails(t, t.TempDir(), "--config", env.config(t, "server:\n  node_id: node-a\n"))
	mustContain(t, out, "node id node-a is in use by a live node at "+a.addr)
}
