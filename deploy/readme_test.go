package deploy

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var readmePath = regexp.MustCompile(`/v1/[a-z_/.{}]*[a-z}]`)

// TestReadmePaths checks that every REST path the operations guide tells
// an operator to call is a route of the API (api/openapi.json), so the
// troubleshooting commands cannot drift from the server.
func TestReadmePaths(t *testing.T) {
	var spec struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join("..", "api", "openapi.json")), &spec); err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for p := range spec.Paths {
		routes[regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(p, "*")] = true
	}
	found := 0
	for _, p := range readmePath.FindAllString(string(readFile(t, "README.md")), -1) {
		found++
		if routes[p] {
			continue
		}
		// A concrete table name stands for the route's {name}.
		if i := strings.LastIndex(p, "/"); routes[p[:i]+"/*"] {
			continue
		}
		t.Errorf("deploy/README.md mentions %s, which is no route of api/openapi.json", p)
	}
	if found < 5 {
		t.Fatalf("found only %d REST paths in README.md", found)
	}
}
