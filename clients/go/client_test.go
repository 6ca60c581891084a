package client

import (
	"crypto/tls"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
)

func TestModeTableDefinitionOptions(t *testing.T) {
	tests := []struct {
		mode     IngestMode
		name     string
		notExist flightsql.TableDefinitionOptionsTableNotExistOption
		exists   flightsql.TableDefinitionOptionsTableExistsOption
	}{
		{ModeCreate, "create", flightsql.TableDefinitionOptionsTableNotExistOptionCreate, flightsql.TableDefinitionOptionsTableExistsOptionFail},
		{ModeAppend, "append", flightsql.TableDefinitionOptionsTableNotExistOptionFail, flightsql.TableDefinitionOptionsTableExistsOptionAppend},
		{ModeCreateAppend, "create_append", flightsql.TableDefinitionOptionsTableNotExistOptionCreate, flightsql.TableDefinitionOptionsTableExistsOptionAppend},
		{ModeReplace, "replace", flightsql.TableDefinitionOptionsTableNotExistOptionCreate, flightsql.TableDefinitionOptionsTableExistsOptionReplace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def, err := tt.mode.TableDefinitionOptions()
			if err != nil {
				t.Fatal(err)
			}
			if def.GetIfNotExist() != tt.notExist || def.GetIfExists() != tt.exists {
				t.Errorf("got if_not_exist=%v if_exists=%v, want %v %v", def.GetIfNotExist(), def.GetIfExists(), tt.notExist, tt.exists)
			}
			if got := tt.mode.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
			parsed, err := ParseIngestMode(tt.name)
			if err != nil || parsed != tt.mode {
				t.Errorf("ParseIngestMode(%q) = %v, %v", tt.name, parsed, err)
			}
		})
	}
}

func TestInvalidMode(t *testing.T) {
	if _, err := IngestMode(17).TableDefinitionOptions(); err == nil {
		t.Error("IngestMode(17).TableDefinitionOptions() succeeded")
	}
	if _, err := ParseIngestMode("upsert"); err == nil {
		t.Error(`ParseIngestMode("upsert") succeeded`)
	}
}

func TestOptionsDefaults(t *testing.T) {
	if got := (Options{}).maxMessageBytes(); got != 256<<20 {
		t.Errorf("default max message bytes = %d, want 256 MiB", got)
	}
	if got := (Options{MaxMessageBytes: 1 << 20}).maxMessageBytes(); got != 1<<20 {
		t.Errorf("max message bytes = %d, want 1 MiB", got)
	}
	if got := len((Options{}).dialOptions()); got != 2 {
		t.Errorf("dial options = %d, want 2 (credentials, call sizes)", got)
	}
}

func TestLocationTarget(t *testing.T) {
	base := Options{Username: "u"}
	tests := []struct {
		uri, addr string
		tls, bad  bool
	}{
		{uri: "grpc://10.0.0.1:8080", addr: "10.0.0.1:8080"},
		{uri: "grpc+tcp://node-2:9000", addr: "node-2:9000"},
		{uri: "grpc+tls://node-3:443", addr: "node-3:443", tls: true},
		{uri: "grpc+unix:///tmp/m.sock", addr: "unix:///tmp/m.sock"},
		{uri: "http://x:1", bad: true},
		{uri: "grpc+tcp://", bad: true},
	}
	for _, tt := range tests {
		addr, opts, err := locationTarget(tt.uri, base)
		if tt.bad {
			if err == nil {
				t.Errorf("%s: no error", tt.uri)
			}
			continue
		}
		if err != nil || addr != tt.addr || (opts.TLS != nil) != tt.tls || opts.Username != "u" {
			t.Errorf("%s: got %q tls=%v user=%q err=%v", tt.uri, addr, opts.TLS != nil, opts.Username, err)
		}
	}
	own := &tls.Config{ServerName: "mine"}
	_, opts, _ := locationTarget("grpc+tls://n:1", Options{TLS: own})
	if opts.TLS != own {
		t.Error("grpc+tls location did not keep the client's TLS config")
	}
}
