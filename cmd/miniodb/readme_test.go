package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeBlock returns the first fenced code block of the given language in
// the repository's README.
func readmeBlock(t *testing.T, lang string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("README has no %s example", lang)
	}
	return m[1]
}

// TestReadmeGoExample compiles the README's Go lines into a program and runs
// it against a live server.
func TestReadmeGoExample(t *testing.T) {
	s := startServer(t, t.TempDir())
	snippet := strings.ReplaceAll(readmeBlock(t, "go"), "127.0.0.1:8080", s.addr)
	dir := t.TempDir()
	prog := `package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec, _, _ := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(` + "`" + `[{"id": 1}, {"id": 2}, {"id": 3}]` + "`" + `))
	rdr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
` + snippet + `
	_ = n
	for r.Next() {
		fmt.Println(r.RecordBatch().Column(0))
	}
}
`
	writeFile(t, filepath.Join(dir, "main.go"), prog)
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.mod"), strings.Replace(string(mod), "module github.com/miniodb/miniodb", "module readmeexample", 1))
	sum, _ := os.ReadFile("../../go.sum")
	writeFile(t, filepath.Join(dir, "go.sum"), string(sum))
	cmd := cliCommand(t, "go", "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README Go example failed: %v\n%s\n--- program ---\n%s", err, out, prog)
	}
	if strings.TrimSpace(string(out)) != "[3]" {
		t.Fatalf("README Go example printed %q, want the count [3]", out)
	}
}
