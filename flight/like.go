package flight

// likeEscape escapes % and _ in a filter pattern; reported as
// SQL_SEARCH_STRING_ESCAPE.
const likeEscape = `\`

// like reports whether s matches a Flight SQL filter pattern: % is any
// sequence of characters (also none), _ is any one character, \ makes
// the next character literal. A nil pattern matches everything (no filter);
// the comparison is case-sensitive, as the names are.
func like(s string, pattern *string) bool {
	if pattern == nil {
		return true
	}
	return likeRunes([]rune(s), []rune(*pattern))
}

func likeRunes(s, p []rune) bool {
	// Greedy matching with backtracking to the last %: linear in practice.
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			c, lit, w := p[pi], false, 1
			if string(c) == likeEscape && pi+1 < len(p) {
				c, lit, w = p[pi+1], true, 2
			}
			switch {
			case !lit && c == '%':
				star, mark = pi, si
				pi++
				continue
			case (!lit && c == '_') || c == s[si]:
				si++
				pi += w
				continue
			}
		}
		if star < 0 {
			return false
		}
		pi = star + 1
		mark++
		si = mark
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}
