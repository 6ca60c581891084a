package olapv1

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// TestGeneratedMatchesProto catches an olap.proto edited without `make
// proto`: every rpc, message and field (name and number) of the file must
// be in the generated descriptor, and the other way round. It reads the
// file with a few regular expressions, which the file's flat layout (no
// nested messages) allows, so `make test` needs no protoc.
func TestGeneratedMatchesProto(t *testing.T) {
	src, err := os.ReadFile("olap.proto")
	if err != nil {
		t.Fatal(err)
	}
	var fromFile, generated []string
	rpc := regexp.MustCompile(`(?m)^\s*rpc (\w+)\((\w+)\) returns \((\w+)\)`)
	for _, m := range rpc.FindAllStringSubmatch(string(src), -1) {
		fromFile = append(fromFile, "rpc "+m[1]+"("+m[2]+") "+m[3])
	}
	msg := regexp.MustCompile(`(?ms)^message (\w+) \{(?:\}|(.*?)^\})`)
	field := regexp.MustCompile(`(?m)^\s*(?:repeated )?[\w.<>, ]+? (\w+) = (\d+);`)
	for _, m := range msg.FindAllStringSubmatch(string(src), -1) {
		fromFile = append(fromFile, "message "+m[1])
		for _, f := range field.FindAllStringSubmatch(m[2], -1) {
			fromFile = append(fromFile, m[1]+"."+f[1]+"="+f[2])
		}
	}
	fd := File_olap_v1_olap_proto
	svc := fd.Services().Get(0)
	for i := 0; i < svc.Methods().Len(); i++ {
		md := svc.Methods().Get(i)
		generated = append(generated, "rpc "+string(md.Name())+"("+string(md.Input().Name())+") "+string(md.Output().Name()))
	}
	for i := 0; i < fd.Messages().Len(); i++ {
		m := fd.Messages().Get(i)
		generated = append(generated, "message "+string(m.Name()))
		for j := 0; j < m.Fields().Len(); j++ {
			f := m.Fields().Get(j)
			generated = append(generated, string(m.Name())+"."+string(f.Name())+"="+strconv.Itoa(int(f.Number())))
		}
	}
	slices.Sort(fromFile)
	slices.Sort(generated)
	if !slices.Equal(fromFile, generated) {
		t.Errorf("olap.proto and the generated code differ; run `make proto`\nonly in the file: %v\nonly generated: %v",
			minus(fromFile, generated), minus(generated, fromFile))
	}
	if len(generated) < 100 {
		t.Errorf("only %d items compared", len(generated))
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
