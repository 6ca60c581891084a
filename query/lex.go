package query

import (
	"fmt"
	"strings"

	"github.com/miniodb/miniodb/duckarrow"
)

// tokKind is the class of one token of the DDL/DML grammar.
type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokWord           // unquoted identifier or keyword: [A-Za-z_][A-Za-z0-9_$]*
	tokQuoted         // "quoted identifier" ("" inside stands for ")
	tokString         // 'string literal' ('' inside stands for ')
	tokNumber         // 123, 1.5, -7
	tokPunct          // ( ) , = ; . [ ]
)

// token is one lexeme; text is the identifier, string or number it
// denotes (unescaped), pos its byte offset in the statement.
type token struct {
	kind tokKind
	text string
	pos  int
}

// is reports whether t is the keyword kw (ASCII case-insensitive).
func (t token) is(kw string) bool { return t.kind == tokWord && strings.EqualFold(t.text, kw) }

// isPunct reports whether t is the punctuation p.
func (t token) isPunct(p string) bool { return t.kind == tokPunct && t.text == p }

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of statement"
	case tokQuoted:
		return duckarrow.Ident(t.text)
	case tokString:
		return duckarrow.String(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// lexer splits a statement into tokens following DuckDB's lexical rules
// for the subset our DDL grammar uses: whitespace, -- and (nested) /* */
// comments, identifiers, quoted identifiers, strings and numbers. Anything
// else is an error, never a guess.
type lexer struct {
	src string
	pos int
}

func (l *lexer) next() (token, error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: l.pos}, nil
	}
	start, c := l.pos, l.src[l.pos]
	switch {
	case isIdentStart(c):
		for l.pos < len(l.src) && isIdentPart(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tokWord, text: l.src[start:l.pos], pos: start}, nil
	case c == '"':
		s, err := l.quoted('"')
		return token{kind: tokQuoted, text: s, pos: start}, err
	case c == '\'':
		s, err := l.quoted('\'')
		return token{kind: tokString, text: s, pos: start}, err
	case isDigit(c) || (c == '-' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1])):
		l.pos++
		for l.pos < len(l.src) && (isDigit(l.src[l.pos]) || l.src[l.pos] == '.') {
			l.pos++
		}
		return token{kind: tokNumber, text: l.src[start:l.pos], pos: start}, nil
	case strings.IndexByte("(),=;.[]", c) >= 0:
		l.pos++
		return token{kind: tokPunct, text: string(c), pos: start}, nil
	}
	return token{}, fmt.Errorf("unexpected character %q at offset %d", c, start)
}

func (l *lexer) skipSpace() error {
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.pos++
		case strings.HasPrefix(l.src[l.pos:], "--"):
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case strings.HasPrefix(l.src[l.pos:], "/*"):
			if err := l.blockComment(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// blockComment skips a /* */ comment; like PostgreSQL's, they nest.
func (l *lexer) blockComment() error {
	start, depth := l.pos, 0
	for l.pos < len(l.src) {
		switch {
		case strings.HasPrefix(l.src[l.pos:], "/*"):
			depth++
			l.pos += 2
		case strings.HasPrefix(l.src[l.pos:], "*/"):
			depth--
			l.pos += 2
			if depth == 0 {
				return nil
			}
		default:
			l.pos++
		}
	}
	return fmt.Errorf("unterminated comment at offset %d", start)
}

// quoted reads a quoted identifier or string; a doubled quote stands for
// one.
func (l *lexer) quoted(q byte) (string, error) {
	start := l.pos
	var b strings.Builder
	l.pos++
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		l.pos++
		if c != q {
			b.WriteByte(c)
			continue
		}
		if l.pos < len(l.src) && l.src[l.pos] == q {
			b.WriteByte(q)
			l.pos++
			continue
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("unterminated quote at offset %d", start)
}

func isIdentStart(c byte) bool { return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// tokens lexes the whole statement.
func tokens(src string) ([]token, error) {
	l := &lexer{src: src}
	var out []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		if t.kind == tokEOF {
			return out, nil
		}
	}
}
