package api

import (
	_ "embed"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

// ArrowStreamType is the media type of an Arrow IPC stream: ask for it in
// Accept to get a query's result as Arrow.
const ArrowStreamType = "application/vnd.apache.arrow.stream"

//go:embed openapi.json
var openAPIDoc []byte

// route is one REST endpoint: a method and ServeMux path, its metrics
// label, whether it is a probe (logged at debug, not counted), and its
// handler.
type route struct {
	method, path string
	op           string
	quiet        bool
	h            func(w http.ResponseWriter, r *http.Request) error
}

func (s *Service) routes() []route {
	rs := []route{
		{"GET", "/v1/health", "health_check", true, s.restHealth},
		{"GET", "/v1/stats", "get_stats", false, s.restStats},
		{"GET", "/v1/nodes", "get_nodes", false, s.restNodes},
		{"POST", "/v1/tables", "create_table", false, s.restCreateTable},
		{"GET", "/v1/tables", "list_tables", false, s.restListTables},
		{"GET", "/v1/tables/{name}", "describe_table", false, s.restDescribeTable},
		{"DELETE", "/v1/tables/{name}", "drop_table", false, s.restDropTable},
		{"POST", "/v1/data", "write", false, s.restWrite},
		{"POST", "/v1/query", "query", false, s.restQuery},
		{"GET", "/v1/pool/status", "pool_status", false, s.restPoolStatus},
		{"GET", "/v1/openapi.json", "openapi", true, serveOpenAPI},
	}
	rs = append(rs, s.metadataRoutes()...)
	if p := s.cfg.MetricsPath; p != "" {
		h := s.d.Telemetry.m.Handler()
		rs = append(rs, route{"GET", p, "metrics", true, func(w http.ResponseWriter, r *http.Request) error {
			h.ServeHTTP(w, r)
			return nil
		}})
	}
	return rs
}

// Handler returns the REST API: every route behind the request telemetry,
// JSON errors {code, message, status} for failures, unknown paths (404)
// and methods (405) included.
func (s *Service) Handler() http.Handler {
	t := s.d.Telemetry
	byPath := map[string]map[string]http.Handler{}
	var paths []string
	for _, rt := range s.routes() {
		if byPath[rt.path] == nil {
			byPath[rt.path] = map[string]http.Handler{}
			paths = append(paths, rt.path)
		}
		h := rt.h
		byPath[rt.path][rt.method] = t.wrapHTTP(rt.op, rt.quiet, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r); err != nil {
				writeError(w, r, err)
			}
		}))
	}
	mux := http.NewServeMux()
	for _, p := range paths {
		mux.Handle(p, methods(byPath[p], t))
	}
	mux.Handle("/", t.wrapHTTP("not_found", false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, httpErrorf(http.StatusNotFound, codes.NotFound, "no endpoint %s %s; see /v1/openapi.json", r.Method, r.URL.Path))
	})))
	return mux
}

// methods dispatches a path's methods (HEAD as GET), or answers 405.
func methods(hs map[string]http.Handler, t *Telemetry) http.Handler {
	allow := make([]string, 0, len(hs))
	for m := range hs {
		allow = append(allow, m)
	}
	sort.Strings(allow)
	notAllowed := t.wrapHTTP("method_not_allowed", false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, r, httpErrorf(http.StatusMethodNotAllowed, codes.Unimplemented, "%s does not take %s; it takes %s", r.URL.Path, r.Method, strings.Join(allow, ", ")))
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := r.Method
		if m == http.MethodHead {
			m = http.MethodGet
		}
		if h, ok := hs[m]; ok {
			h.ServeHTTP(w, r)
			return
		}
		notAllowed.ServeHTTP(w, r)
	})
}

// writeError writes err as {code, message, status} with its HTTP status.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	httpCode, code, msg := restStatus(err)
	if c := callOf(r.Context()); c != nil {
		c.code = code
	}
	writeJSON(w, httpCode, marshalJSON(&olapv1.Error{Code: int32(code), Message: msg, Status: strings.ToUpper(snake(code.String()))}))
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}

func writeProto(w http.ResponseWriter, m proto.Message) error {
	writeJSON(w, http.StatusOK, marshalJSON(m))
	return nil
}

func codeError(c codes.Code, msg string) error { return status.Error(c, msg) }

// readProto decodes a JSON body (bounded by MaxRequestBytes) into m with
// protojson: field names as in the proto (or lowerCamel), unknown fields
// refused. An empty body is an empty message.
func (s *Service) readProto(w http.ResponseWriter, r *http.Request, m proto.Message) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.d.Telemetry.cfg.MaxRequestBytes))
	if err != nil {
		return bodyErr(err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := protojson.Unmarshal(body, m); err != nil {
		return invalidf("request body: %v", err)
	}
	return nil
}

func unimplemented(http.ResponseWriter, *http.Request) error { return errUnimplementedBackup }

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, openAPIDoc)
	return nil
}

func (s *Service) restHealth(w http.ResponseWriter, r *http.Request) error {
	h := s.health(r.Context())
	code := http.StatusOK
	if h.Status != healthy {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, marshalJSON(h))
	return nil
}

func (s *Service) restStats(w http.ResponseWriter, r *http.Request) error {
	resp, err := s.GetStats(r.Context(), &olapv1.GetStatsRequest{})
	if err != nil {
		return err
	}
	return writeProto(w, resp)
}

func (s *Service) restNodes(w http.ResponseWriter, r *http.Request) error {
	resp, err := s.GetNodes(r.Context(), &olapv1.GetNodesRequest{})
	if err != nil {
		return err
	}
	return writeProto(w, resp)
}

func (s *Service) restPoolStatus(w http.ResponseWriter, r *http.Request) error {
	return writeProto(w, &olapv1.PoolStatusResponse{Pools: s.pools(), Timestamp: timestamppb.New(s.d.Now())})
}

func (s *Service) restCreateTable(w http.ResponseWriter, r *http.Request) error {
	var req olapv1.CreateTableRequest
	if err := s.readProto(w, r, &req); err != nil {
		return err
	}
	resp, err := s.CreateTable(r.Context(), &req)
	if err != nil {
		return err
	}
	return writeProto(w, resp)
}

func (s *Service) restListTables(w http.ResponseWriter, r *http.Request) error {
	resp, err := s.ListTables(r.Context(), &olapv1.ListTablesRequest{Pattern: r.URL.Query().Get("pattern")})
	if err != nil {
		return err
	}
	return writeProto(w, resp)
}

func (s *Service) restDescribeTable(w http.ResponseWriter, r *http.Request) error {
	resp, err := s.DescribeTable(r.Context(), &olapv1.DescribeTableRequest{TableName: r.PathValue("name")})
	if err != nil {
		return err
	}
	return writeProto(w, resp)
}

func (s *Service) restDropTable(w http.ResponseWriter, r *http.Request) error {
	req := &olapv1.DropTableRequest{TableName: r.PathValue("name")}
	var err error
	if req.Cascade, err = boolParam(r, "cascade"); err != nil {
		return err
	}
	if req.IfExists, err = boolParam(r, "if_exists"); err != nil {
		return err
	}
	resp, err := s.DropTable(r.Context(), req)
	if err != nil {
		return err
	}
	return writeProto(w, resp)
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalidf("query parameter %s=%q is not a boolean", name, v)
	}
	return b, nil
}

func (s *Service) restWrite(w http.ResponseWriter, r *http.Request) error {
	rows, err := decodeRows(http.MaxBytesReader(w, r.Body, s.d.Telemetry.cfg.MaxRequestBytes), s.cfg.MaxRows)
	if err != nil {
		return err
	}
	n, err := s.write(r.Context(), rows)
	if err != nil {
		return toStatus(err)
	}
	return writeProto(w, writeResponse(n, rows, s.cfg.DefaultTable))
}

// restQuery answers POST /v1/query {sql}: JSON rows, or with Accept:
// application/vnd.apache.arrow.stream an Arrow IPC stream. Both stream the
// result batch by batch. An error before the first batch is an error
// response; one after it ends a JSON answer with an "error" member and cuts
// an Arrow stream short (no end-of-stream marker), so a client cannot take
// a partial result for a whole one.
func (s *Service) restQuery(w http.ResponseWriter, r *http.Request) error {
	var req olapv1.QueryRequest
	if err := s.readProto(w, r, &req); err != nil {
		return err
	}
	asArrow, err := wantsArrow(r.Header.Get("Accept"))
	if err != nil {
		return err
	}
	st, err := s.run(r.Context(), req.GetSql())
	if err != nil {
		return err
	}
	defer st.Close()
	more := st.Next()
	if !more && st.Err() != nil {
		return st.Err() // NOTE: writeError maps it (a result cap is 413, not 429)
	}
	if asArrow {
		return s.streamArrow(w, r, st, more)
	}
	return s.streamJSON(w, r, st, more)
}

// wantsArrow reads the Accept header: Arrow when it names the Arrow stream
// type, JSON when it names JSON or anything, 406 otherwise.
func wantsArrow(accept string) (bool, error) {
	if accept == "" {
		return false, nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case ArrowStreamType:
			return true, nil
		case "application/json", "*/*", "application/*":
			return false, nil
		}
	}
	return false, httpErrorf(http.StatusNotAcceptable, codes.InvalidArgument,
		"cannot answer in %q; accept application/json or %s", accept, ArrowStreamType)
}

func (s *Service) streamJSON(w http.ResponseWriter, r *http.Request, st Stream, more bool) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	head := []byte(`{"columns":[`)
	for i, c := range columns(st.Schema()) {
		if i > 0 {
			head = append(head, ',')
		}
		head = append(head, marshalJSON(c)...)
	}
	w.Write(append(head, `],"rows":[`...))
	rows := newJSONRows(w, st.Schema())
	rc := http.NewResponseController(w)
	defer s.idleWrites(rc)()
	for ; more; more = st.Next() {
		s.writeDeadline(rc)
		if err := rows.write(st.RecordBatch()); err != nil {
			s.d.Log.Info("query result not delivered", zap.String("request_id", RequestID(r.Context())), zap.Error(err))
			return nil
		}
		rc.Flush()
	}
	io.WriteString(w, `],"row_count":`+strconv.FormatInt(rows.rows, 10))
	if err := st.Err(); err != nil {
		_, code, msg := restStatus(err)
		if c := callOf(r.Context()); c != nil {
			c.code = code
		}
		io.WriteString(w, `,"error":`)
		w.Write(marshalJSON(&olapv1.Error{Code: int32(code), Message: msg, Status: strings.ToUpper(snake(code.String()))}))
	}
	io.WriteString(w, "}\n")
	return nil
}

func (s *Service) streamArrow(w http.ResponseWriter, r *http.Request, st Stream, more bool) error {
	w.Header().Set("Content-Type", ArrowStreamType)
	w.WriteHeader(http.StatusOK)
	iw := ipc.NewWriter(w, ipc.WithSchema(st.Schema()), ipc.WithAllocator(s.d.Mem))
	rc := http.NewResponseController(w)
	defer s.idleWrites(rc)()
	for ; more; more = st.Next() {
		s.writeDeadline(rc)
		if err := iw.Write(st.RecordBatch()); err != nil {
			s.d.Log.Info("query result not delivered", zap.String("request_id", RequestID(r.Context())), zap.Error(err))
			return nil
		}
		rc.Flush()
	}
	if err := st.Err(); err != nil {
		_, code, msg := restStatus(err)
		if c := callOf(r.Context()); c != nil {
			c.code = code
		}
		s.d.Log.Warn("query failed while streaming Arrow; response cut short", zap.String("request_id", RequestID(r.Context())), zap.String("error", msg))
		panic(http.ErrAbortHandler)
	}
	if err := iw.Close(); err != nil {
		s.d.Log.Info("query result not delivered", zap.String("request_id", RequestID(r.Context())), zap.Error(err))
	}
	return nil
}

// writeDeadline gives the next batch's write server.stream_idle_timeout:
// a client that stops reading fails the write, and the query ends.
func (s *Service) writeDeadline(rc *http.ResponseController) {
	if s.cfg.StreamIdleTimeout > 0 {
		rc.SetWriteDeadline(time.Now().Add(s.cfg.StreamIdleTimeout))
	}
}

// idleWrites returns what clears the write deadline after the answer, so
// it does not outlive the request on a kept-alive connection.
func (s *Service) idleWrites(rc *http.ResponseController) func() {
	return func() {
		if s.cfg.StreamIdleTimeout > 0 {
			rc.SetWriteDeadline(time.Time{})
		}
	}
}
