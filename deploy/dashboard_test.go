package deploy

import (
	"encoding/json"
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// dashboardExprs returns every PromQL query of the Grafana dashboard: the
// panels' targets (rows included) and the template variables'.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join("grafana", "miniodb.json")), &d); err != nil {
		t.Fatalf("grafana/miniodb.json: %v", err)
	}
	var exprs []string
	var walk func(raw []json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p struct {
				Title   string            `json:"title"`
				Type    string            `json:"type"`
				Panels  []json.RawMessage `json:"panels"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			}
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			q, _ := v.Query.(map[string]any)
			exprs = append(exprs, str(q["query"]))
		}
	}
	return exprs
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*\s*\(?`)
	promTemplFunc = regexp.MustCompile(`label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)`)
	promKeywords  = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "le": true, "inf": true, "nan": true}
)

// metricNames returns the metric names a PromQL expression selects:
// identifiers that are not functions, label names, grouping labels,
// strings, ranges or keywords.
func metricNames(expr string) []string {
	var names []string
	if m := promTemplFunc.FindStringSubmatch(expr); m != nil {
		return []string{m[1]}
	}
	e := promStrings.ReplaceAllString(expr, " ")
	e = promMatchers.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	for _, id := range promIdent.FindAllString(e, -1) {
		if strings.HasSuffix(id, "(") || promKeywords[strings.ToLower(strings.TrimSpace(id))] {
			continue
		}
		names = append(names, strings.TrimSpace(id))
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`histogram_quantile(0.99, sum by (le, method) (rate(miniodb_requests_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval])))`: {"miniodb_requests_duration_seconds_bucket"},
		`sum by (instance) (miniodb_wal_last_lsn{a="b"} - miniodb_wal_durable_lsn)`:                                                               {"miniodb_wal_last_lsn", "miniodb_wal_durable_lsn"},
		`process_open_fds / process_max_fds`:     {"process_open_fds", "process_max_fds"},
		`label_values(miniodb_tables, instance)`: {"miniodb_tables"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%s) = %v, want %v", expr, got, want)
		}
	}
}

// TestDashboardMetrics starts a node over a real Redis and MinIO, gives it
// work (a write, a flush, queries over buffer and file), and checks that
// every metric the dashboard's queries use is in its /metrics.
func TestDashboardMetrics(t *testing.T) {
	want := map[string]bool{}
	for _, e := range dashboardExprs(t) {
		names := metricNames(e)
		if len(names) == 0 {
			t.Errorf("query %q selects no metric", e)
		}
		for _, n := range names {
			want[n] = true
		}
	}
	node := startNode(t, []string{binary, "serve", "--data-dir", t.TempDir()},
		merge(newStores(t), map[string]string{"MINIODB_BUFFER_FLUSH_INTERVAL": "1s", "MINIODB_LOG_SLOW_QUERY_THRESHOLD": "1ms"}))
	node.waitHealthy("/v1/health")
	if code, body := node.call("POST", "/v1/data", "", `{"table":"h10_dash","id":"a","payload":{"v":1}}`); code != http.StatusOK {
		t.Fatalf("write: %d %s", code, body)
	}
	exported := func() map[string]bool {
		code, body := node.call("GET", "/metrics", "", "")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics: %d", code)
		}
		got := map[string]bool{}
		for _, line := range strings.Split(body, "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			got[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
		}
		return got
	}
	var missing []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		// Queries after the flush read the Parquet file through the cache.
		if code, body := node.call("POST", "/v1/query", "", `{"sql":"SELECT count(*) FROM h10_dash"}`); code != http.StatusOK {
			t.Fatalf("query: %d %s", code, body)
		}
		got := exported()
		missing = missing[:0]
		for n := range want {
			if !got[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			t.Logf("all %d metric names of the dashboard are exported: %v", len(want), slices.Sorted(maps.Keys(want)))
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	slices.Sort(missing)
	t.Errorf("the dashboard queries metrics the node does not export: %v", missing)
}
