package flight

import (
	"errors"
	"unicode/utf8"
)

const ticketVersion byte = 1

// errBadTicket marks a statement handle this server did not make.
var errBadTicket = errors.New("malformed statement handle")

// encodeHandle makes the statement handle of a query ticket.
func encodeHandle(sql string) []byte {
	return append([]byte{ticketVersion}, sql...)
}

// decodeHandle returns the SQL of a statement handle.
func decodeHandle(h []byte) (string, error) {
	if len(h) < 2 || h[0] != ticketVersion || !utf8.Valid(h[1:]) {
		return "", errBadTicket
	}
	return string(h[1:]), nil
}
