package tpch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSF = 0.01

var (
	testRoot    string // removed by TestMain
	genOnce     sync.Once
	genErr      error
	genDuration time.Duration
)

func TestMain(m *testing.M) {
	var err error
	testRoot, err = os.MkdirTemp("", "tpch-test-")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(testRoot)
	os.Exit(code)
}

// testPython is the interpreter the tests generate data with.
func testPython() string {
	if p := os.Getenv("MINIODB_PYTHON"); p != "" {
		return p
	}
	return "python3"
}

// testData generates SF 0.01 once for the whole test binary; it fails (never
// skips) when Python or the pinned packages are missing.
func testData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testRoot, "sf0.01")
	genOnce.Do(func() {
		start := time.Now()
		genErr = Ensure(context.Background(), testPython(), dir, testSF)
		genDuration = time.Since(start)
	})
	if genErr != nil {
		t.Fatalf("TPC-H generation failed with python %q (set MINIODB_PYTHON to a python "+
			"with bench/tpch/requirements.txt installed; `make test` sets up .venv and does this): %v",
			testPython(), genErr)
	}
	return dir
}

func TestEnsureGenerates(t *testing.T) {
	dir := testData(t)
	t.Logf("SF %v generated in %v", testSF, genDuration)
	for _, name := range Tables() {
		st, err := os.Stat(filepath.Join(dir, name+".parquet"))
		if err != nil || st.Size() == 0 {
			t.Errorf("table %s: %v", name, err)
		}
	}
	qs, err := Queries(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 22 || qs[0].Name != "q01" || qs[21].Name != "q22" {
		t.Fatalf("got %d queries, first %q", len(qs), qs[0].Name)
	}
}

func TestEnsureIsCache(t *testing.T) {
	dir := testData(t)
	// A complete dir must not run python at all.
	if err := Ensure(context.Background(), "/nonexistent/python", dir, testSF); err != nil {
		t.Fatalf("complete dir: %v", err)
	}
	// Another SF is not a cache hit.
	if err := Ensure(context.Background(), "/nonexistent/python", dir, 0.02); err == nil {
		t.Fatal("SF mismatch: want an attempt to regenerate")
	}
	// A dir without the marker (half written) is regenerated.
	half := t.TempDir()
	if err := Ensure(context.Background(), "/nonexistent/python", half, testSF); err == nil {
		t.Fatal("incomplete dir: want an attempt to generate")
	}
}

func TestGenerationDeterministic(t *testing.T) {
	dir := testData(t)
	again := t.TempDir()
	if err := Ensure(context.Background(), testPython(), again, testSF); err != nil {
		t.Fatal(err)
	}
	a, b := hashTree(t, dir), hashTree(t, again)
	if len(a) != 8+22+1 {
		t.Fatalf("got %d files, want 31", len(a))
	}
	for name, h := range a {
		if b[name] != h {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

func hashTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(root, path)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReferenceAllQueries(t *testing.T) {
	dir := testData(t)
	qs, err := Queries(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		res, err := Reference(context.Background(), dir, q.SQL)
		if err != nil {
			t.Errorf("%s: %v", q.Name, err)
			continue
		}
		t.Logf("%s: %d rows x %d cols, ordered=%v", q.Name, len(res.Rows), len(res.Columns), q.Ordered)
		if len(res.Rows) == 0 {
			t.Errorf("%s: empty result", q.Name)
		}
	}
}

func TestHasOrderBy(t *testing.T) {
	cases := map[string]bool{
		"SELECT a FROM t ORDER BY a":                                  true,
		"select a from t order\n  by a desc;":                         true,
		"SELECT sum(a) FROM t":                                        false,
		"SELECT * FROM (SELECT a FROM t ORDER BY a) s":                false,
		"SELECT row_number() OVER (ORDER BY a) FROM t":                false,
		"SELECT 'order by' FROM t":                                    false,
		"WITH r AS (SELECT a FROM t ORDER BY a) SELECT * FROM r":      false,
		"WITH r AS (SELECT a FROM t) SELECT * FROM r ORDER BY a":      true,
		"SELECT a AS \"order by\" FROM t":                             false,
		"SELECT a FROM t WHERE a = (SELECT max(a) FROM t) ORDER BY 1": true,
	}
	for sql, want := range cases {
		if got := HasOrderBy(sql); got != want {
			t.Errorf("HasOrderBy(%q) = %v, want %v", sql, got, want)
		}
	}
}

func TestQueriesOrdered(t *testing.T) {
	qs, err := Queries(testData(t))
	if err != nil {
		t.Fatal(err)
	}
	unordered := map[string]bool{"q06": true, "q14": true, "q17": true, "q19": true}
	for _, q := range qs {
		if q.Ordered == unordered[q.Name] {
			t.Errorf("%s: Ordered = %v", q.Name, q.Ordered)
		}
	}
}

func TestQueriesMissingDir(t *testing.T) {
	if _, err := Queries(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no queries") {
		t.Fatalf("want a no-queries error, got %v", err)
	}
}
