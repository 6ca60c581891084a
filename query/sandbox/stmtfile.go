package sandbox

import "strings"

// ParseStatementFile reads the statement-per-line format of
// testdata/hostile.sql: empty lines and lines starting with "--#" are
// comments; in a statement, the two characters \n stand for a newline and
// \\ for a backslash. It lets the service's end-to-end tests replay the same
// hostile list over every protocol.
func ParseStatementFile(data string) []string {
	var stmts []string
	for _, line := range strings.Split(data, "\n") {
		if line == "" || strings.HasPrefix(line, "--#") {
			continue
		}
		stmts = append(stmts, unescapeLine(line))
	}
	return stmts
}

// unescapeLine turns the two characters \n into a newline and \\ into a
// backslash; any other backslash stays as it is.
func unescapeLine(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' && i+1 < len(line) {
			switch line[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(line[i])
	}
	return b.String()
}
