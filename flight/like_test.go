package flight

import "testing"

func TestLike(t *testing.T) {
	p := func(s string) *string { return &s }
	tests := []struct {
		s       string
		pattern *string
		want    bool
	}{
		{"events", nil, true},
		{"events", p("%"), true},
		{"", p("%"), true},
		{"events", p("events"), true},
		{"events", p("Events"), false},
		{"events", p("ev%"), true},
		{"events", p("%nts"), true},
		{"events", p("%ven%"), true},
		{"events", p("e_ents"), true},
		{"events", p("e_nts"), false},
		{"events", p("______"), true},
		{"events", p("_____"), false},
		{"events", p(""), false},
		{"a_b", p(`a\_b`), true},
		{"axb", p(`a\_b`), false},
		{"a%b", p(`a\%b`), true},
		{"axxb", p(`a\%b`), false},
		{"aXbXc", p("a%b%c"), true},
		{"abc", p("a%%c"), true},
		{"ab", p("a%b%"), true},
	}
	for _, tc := range tests {
		pat := "<nil>"
		if tc.pattern != nil {
			pat = *tc.pattern
		}
		if got := like(tc.s, tc.pattern); got != tc.want {
			t.Errorf("like(%q, %q) = %v, want %v", tc.s, pat, got, tc.want)
		}
	}
}
