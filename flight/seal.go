package flight

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
)

// Version 2 handles end with a tag: the first sealTagLen bytes of
// HMAC-SHA256 over the rest of the handle under Config.HandleKey
// (docs/format/ticket.md). A handle is decoded only once its tag checks,
// so the parameter rows in it, which arrow-go's IPC reader would trust to
// size its allocations, come only from this cluster's own encoder.

const sealTagLen = 16

// sealer signs and checks handles under one key.
type sealer struct{ key []byte }

// newSealer returns a sealer under key, or under a random key (handles
// valid only for this process) if key is empty.
func newSealer(key []byte) sealer {
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key) // never fails (crypto/rand)
	}
	return sealer{key: key}
}

func (s sealer) tag(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return m.Sum(nil)[:sealTagLen]
}

// seal appends b's tag to a version 2 handle; a version 1 handle (SQL
// only) stays as it is.
func (s sealer) seal(b []byte) []byte {
	if len(b) == 0 || b[0] != handleV2 {
		return b
	}
	return append(b, s.tag(b)...)
}

// open checks and strips the tag of a version 2 handle: a handle with a
// wrong or missing tag is errBadTicket, and is never decoded.
func (s sealer) open(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] != handleV2 {
		return b, nil
	}
	if len(b) < v2HeaderLen+sealTagLen {
		return nil, errBadTicket
	}
	body, tag := b[:len(b)-sealTagLen], b[len(b)-sealTagLen:]
	if !hmac.Equal(tag, s.tag(body)) {
		return nil, errBadTicket
	}
	return body, nil
}

// encodeHandle lays out and seals a handle.
func (s *Server) encodeHandle(h handle) ([]byte, error) {
	b, err := h.encode()
	if err != nil {
		return nil, err
	}
	return s.seal.seal(b), nil
}

// decodeHandle checks a handle's seal and decodes it; the result must be
// released.
func (s *Server) decodeHandle(b []byte) (handle, error) {
	body, err := s.seal.open(b)
	if err != nil {
		return handle{}, err
	}
	return decodeHandle(body, s.mem)
}
