package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Figure is one reported number: the runs of the system under test and,
// when it has one, of its baseline in the same run.
type Figure struct {
	Name     string
	Unit     string
	Values   []float64
	Base     []float64 // nil: no baseline
	BaseName string
	// Goal is on the ratio median(Values)/median(Base) when Base is set,
	// else on median(Values): ">= 0.5", "<= 1.10", "< 10".
	Goal string
	Note string
}

type timer struct{ t time.Time }

func startTimer() timer                 { return timer{time.Now()} }
func (t timer) seconds() float64        { return time.Since(t.t).Seconds() }
func (t timer) millis() float64         { return float64(time.Since(t.t).Microseconds()) / 1000 }
func median(v []float64) float64        { return quantile(v, 0.5) }
func minmax(v []float64) (a, b float64) { return slices.Min(v), slices.Max(v) }

// quantile is the nearest-rank quantile of v (v is not modified).
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(len(s)-1, i))]
}

// Ratio is median(Values)/median(Base), 0 without a baseline.
func (f Figure) Ratio() float64 {
	if len(f.Base) == 0 || median(f.Base) == 0 {
		return 0
	}
	return median(f.Values) / median(f.Base)
}

// Met reports whether the goal holds; ok is false when there is no goal.
func (f Figure) Met() (met, ok bool) {
	if f.Goal == "" || len(f.Values) == 0 {
		return false, false
	}
	x := median(f.Values)
	if len(f.Base) > 0 {
		x = f.Ratio()
	}
	var op string
	var lim float64
	if _, err := fmt.Sscanf(f.Goal, "%s %g", &op, &lim); err != nil {
		return false, false
	}
	switch op {
	case ">=":
		return x >= lim, true
	case "<=":
		return x <= lim, true
	case "<":
		return x < lim, true
	case ">":
		return x > lim, true
	}
	return false, false
}

func fmtNum(x float64) string {
	a := max(x, -x)
	switch {
	case a >= 1e6:
		return fmt.Sprintf("%.2f M", x/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.1f k", x/1e3)
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 1:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3f", x)
	}
}

func fmtRuns(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	lo, hi := minmax(v)
	return fmt.Sprintf("%s (%s–%s)", fmtNum(median(v)), fmtNum(lo), fmtNum(hi))
}

// Markdown renders the figures as the report's table.
func Markdown(figs []Figure) string {
	var b strings.Builder
	b.WriteString("| workload | unit | MinIODB median (min–max) | baseline | baseline median (min–max) | ratio | goal | met |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, f := range figs {
		ratio, met := "–", "–"
		if r := f.Ratio(); r != 0 {
			ratio = fmt.Sprintf("%.2f×", r)
		}
		if m, ok := f.Met(); ok {
			met = map[bool]string{true: "yes", false: "**no**"}[m]
		}
		goal := f.Goal
		if goal != "" && len(f.Base) > 0 {
			goal += "×"
		}
		name := f.Name
		if f.Note != "" {
			name += " — " + f.Note
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name, f.Unit, fmtRuns(f.Values),
			orDash(f.BaseName), fmtRuns(f.Base), ratio, orDash(goal), met)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// Chart draws the ratio of every figure with a baseline as horizontal bars.
func Chart(figs []Figure, path string) error {
	var vals plotter.Values
	var names []string
	for _, f := range figs {
		if r := f.Ratio(); r != 0 {
			vals = append(vals, r)
			name := f.Name
			if len(f.Note) <= 12 && f.Note != "" {
				name += " (" + f.Note + ")"
			} else if n, _, ok := strings.Cut(f.Note, ";"); ok && len(n) <= 12 {
				name += " (" + n + ")"
			}
			names = append(names, name)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = "MinIODB / same-run baseline (median of runs)"
	p.X.Label.Text = "ratio (throughput: higher is better; time: lower is better)"
	bars, err := plotter.NewBarChart(vals, vg.Points(12))
	if err != nil {
		return err
	}
	bars.Horizontal = true
	p.Add(bars)
	p.NominalY(names...)
	return p.Save(9*vg.Inch, vg.Length(1.0+0.35*float64(len(vals)))*vg.Inch, path)
}

// saved is what results/figures.json keeps of a run, so that the report can
// be rendered again without measuring (MINIODB_BENCH_RENDER=1).
type saved struct {
	Header string
	Notes  []string
	Figs   []Figure
}

// WriteReport writes report.md (header, the table, notes), report.png and
// figures.json.
func WriteReport(dir, header, notes string, figs []Figure) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(saved{Header: header, Notes: []string{notes}, Figs: figs}, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "figures.json"), js, 0o644); err != nil {
		return err
	}
	if err := Chart(figs, filepath.Join(dir, "report.png")); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	md := header + "\n![ratios](report.png)\n\n" + Markdown(figs) + "\n" + notes
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(md), 0o644)
}

// Rerender writes the report again from dir/figures.json, with notes
// replaced by the current optimisation notes.
func Rerender(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "figures.json"))
	if err != nil {
		return err
	}
	var sv saved
	if err := json.Unmarshal(b, &sv); err != nil {
		return err
	}
	notes := strings.Join(sv.Notes, "\n")
	if i := strings.Index(notes, "\n## "); i >= 0 {
		notes = notes[:i+1]
	}
	return WriteReport(dir, sv.Header, notes+optimizationNotes, sv.Figs)
}
