package tpch

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

//go:embed gen.py
var genScript []byte

// markerFile is written last by gen.py; its presence means the directory is complete.
const markerFile = ".complete"

// tables are the TPC-H tables in load order (referenced tables first).
var tables = []string{
	"region", "nation", "part", "supplier",
	"partsupp", "customer", "orders", "lineitem",
}

// Query is one TPC-H query as written by gen.py.
type Query struct {
	Name string // "q01" .. "q22"
	SQL  string
	// Ordered is true when the query ends in a top-level ORDER BY, so that
	// Compare should also check row order.
	Ordered bool
}

// Tables returns the 8 TPC-H table names in load order.
func Tables() []string {
	return append([]string(nil), tables...)
}

// Ensure generates the data set for sf into dir by running the embedded
// gen.py with python (an interpreter path such as a venv's bin/python, or a
// name looked up in PATH). dir is a cache: Ensure returns at once when
// dir/.complete exists and records the same sf. Concurrent calls on the same
// dir are not coordinated.
func Ensure(ctx context.Context, python, dir string, sf float64) error {
	if !(sf > 0) {
		return fmt.Errorf("tpch: scale factor must be > 0, got %v", sf)
	}
	if complete(dir, sf) {
		return nil
	}
	if err := runGen(ctx, python, dir, sf); err != nil {
		return err
	}
	if !complete(dir, sf) {
		return fmt.Errorf("tpch: gen.py finished but %s has no %s for SF %v", dir, markerFile, sf)
	}
	return nil
}

// runGen runs gen.py, fed on standard input, so no source tree is needed at run time.
func runGen(ctx context.Context, python, dir string, sf float64) error {
	sfArg := strconv.FormatFloat(sf, 'g', -1, 64)
	cmd := exec.CommandContext(ctx, python, "-", "--sf", sfArg, "--out", dir)
	cmd.Stdin = bytes.NewReader(genScript)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("tpch: generating SF %s into %s with %q: %w\n%s",
			sfArg, dir, python, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// complete reports whether dir holds a finished data set for sf.
func complete(dir string, sf float64) bool {
	f, err := os.Open(filepath.Join(dir, markerFile))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "sf=")
		if !ok {
			continue
		}
		got, err := strconv.ParseFloat(v, 64)
		return err == nil && got == sf
	}
	return false
}

// Queries reads dir/queries/q01.sql .. q22.sql in order.
func Queries(dir string) ([]Query, error) {
	files, err := filepath.Glob(filepath.Join(dir, "queries", "q*.sql"))
	if err != nil {
		return nil, fmt.Errorf("tpch: listing queries: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("tpch: no queries in %s: %w", filepath.Join(dir, "queries"), os.ErrNotExist)
	}
	qs := make([]Query, 0, len(files))
	for _, f := range files { // Glob returns names sorted; qNN sorts numerically.
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("tpch: reading query: %w", err)
		}
		sql := string(b)
		name := strings.TrimSuffix(filepath.Base(f), ".sql")
		qs = append(qs, Query{Name: name, SQL: sql, Ordered: HasOrderBy(sql)})
	}
	return qs, nil
}

var orderByRE = regexp.MustCompile(`(?i)\border\s+by\b`)

// HasOrderBy reports whether sql has an ORDER BY outside any parentheses and
// string literals, that is one that orders the final result.
func HasOrderBy(sql string) bool {
	return orderByRE.MatchString(topLevel(sql))
}

// topLevel blanks out everything inside parentheses and quotes.
func topLevel(sql string) string {
	var b strings.Builder
	depth, quote := 0, rune(0)
	for _, r := range sql {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
			r = ' '
		case r == '\'' || r == '"':
			quote, r = r, ' '
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
			r = ' '
		}
		if depth > 0 {
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

// errUnsupported marks a value type that has no canonical form.
var errUnsupported = errors.New("unsupported type")
