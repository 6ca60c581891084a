package testenv

import (
	"bytes"
	"net"
	"sync"
)

// FreeAddr returns a loopback host:port that was free a moment ago. Another
// process may take it before the caller binds it: a server started on it
// must be recognised by its own output, not by a successful dial.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// LogBuffer collects a child process's output while the test reads it. Max,
// when positive, bounds it: a write that finds it over Max starts it over.
type LogBuffer struct {
	Max int

	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Max > 0 && l.b.Len() > l.Max {
		l.b.Reset()
	}
	return l.b.Write(p)
}

// String returns what was written (since the last start-over).
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
