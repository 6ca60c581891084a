package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/miniodb/miniodb/api/proto/olap/v1"
)

// registerDecoders teaches kin-openapi the media types it lacks. NOTE:
// kin-openapi keeps decoders in a package-level map, hence the Once.
var registerDecoders sync.Once

// loadDoc parses and validates the served OpenAPI document.
func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	registerDecoders.Do(func() {
		openapi3filter.RegisterBodyDecoder(ArrowStreamType, openapi3filter.FileBodyDecoder)
		openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
	})
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = nil // match requests to any host
	return doc
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadDoc(t)
	var inDoc, served []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inDoc = append(inDoc, strings.ToUpper(method)+" "+path)
		}
	}
	svc := New(Config{MetricsPath: "/metrics"}, Deps{Telemetry: &Telemetry{m: NewMetrics("n")}})
	for _, r := range svc.routes() {
		served = append(served, r.method+" "+r.path)
	}
	sort.Strings(inDoc)
	sort.Strings(served)
	if !slices.Equal(inDoc, served) {
		t.Errorf("the document and the handlers disagree:\ndocument: %v\nhandlers: %v", inDoc, served)
	}
}

// TestOpenAPIMatchesProto checks that every schema named after an olap.v1
// message has exactly that message's fields, so the REST document cannot
// drift from the gRPC messages whose JSON the handlers write.
func TestOpenAPIMatchesProto(t *testing.T) {
	doc := loadDoc(t)
	alias := map[string]string{"WriteRow": "WriteRequest", "TableConfigInForce": "TableConfig"}
	checked := 0
	for name, ref := range doc.Components.Schemas {
		msgName := name
		if a, ok := alias[name]; ok {
			msgName = a
		}
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName("olap.v1." + msgName))
		if err != nil {
			continue // REST-only shapes: QueryResult, the backup bodies
		}
		var fields []string
		md := d.(protoreflect.MessageDescriptor)
		for i := 0; i < md.Fields().Len(); i++ {
			fields = append(fields, string(md.Fields().Get(i).Name()))
		}
		var props []string
		for p := range ref.Value.Properties {
			props = append(props, p)
		}
		sort.Strings(fields)
		sort.Strings(props)
		if !slices.Equal(fields, props) {
			t.Errorf("schema %s has %v; message %s has %v", name, props, msgName, fields)
		}
		checked++
	}
	if checked < 25 {
		t.Errorf("only %d schemas matched a message", checked)
	}
}

// validator checks requests and responses against the document.
type validator struct {
	t      *testing.T
	router routers.Router
}

func newValidator(t *testing.T) *validator {
	router, err := legacy.NewRouter(loadDoc(t))
	if err != nil {
		t.Fatal(err)
	}
	return &validator{t: t, router: router}
}

// check validates one exchange; requests the document does not describe
// (bad bodies on purpose) are checked only for their response.
func (v *validator) check(req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	v.t.Helper()
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			v.t.Errorf("%s %s: not in the document: %v", req.Method, req.URL.Path, err)
		}
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{ExcludeRequestBody: resp.StatusCode >= 400, ExcludeRequestQueryParams: resp.StatusCode >= 400}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && resp.StatusCode < 400 {
		v.t.Errorf("%s %s: request does not fit the document: %v", req.Method, req.URL.Path, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("%s %s -> %d: response does not fit the document: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, clip(string(body), 2000))
	}
}
