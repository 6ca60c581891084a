package api

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// RequestIDHeader carries a request's id, in HTTP headers and gRPC
// metadata alike: taken from the request when the client sends one, made
// up otherwise, and always returned.
const RequestIDHeader = "x-request-id"

// TelemetryConfig configures a Telemetry. Zero values take the defaults
// noted.
type TelemetryConfig struct {
	Log     *zap.Logger // required
	Metrics *Metrics    // required
	// SlowQuery is the duration above which a query is logged at warn
	// with its SQL (log.slow_query_threshold); default 1s, < 0 disables.
	SlowQuery time.Duration
	// MaxRequestBytes bounds one REST body or OlapService request
	// (server.max_request_bytes); default 32 MiB.
	MaxRequestBytes int64
	// MaxQueries is the size of the query engine's slot pool, reported
	// as the "duckdb" pool.
	MaxQueries int
	// TableExists keeps the table label of the metrics to existing tables,
	// so that requests naming made-up tables cannot grow the label's
	// values without bound (log lines still name them). nil: no check.
	TableExists func(name string) bool
}

// Telemetry gives every request of a node, on every port and protocol, an
// id, one log line, its metrics and panic recovery, and measures the
// ingests and queries of every path.
type Telemetry struct {
	cfg TelemetryConfig
	log *zap.Logger
	m   *Metrics
}

// NewTelemetry returns the node's request telemetry.
func NewTelemetry(cfg TelemetryConfig) *Telemetry {
	if cfg.SlowQuery == 0 {
		cfg.SlowQuery = time.Second
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 32 << 20
	}
	return &Telemetry{cfg: cfg, log: cfg.Log, m: cfg.Metrics}
}

// call is what one request records about itself while it runs.
type call struct {
	id     string
	mu     sync.Mutex
	tables []string
	known  map[string]bool // tables seen to exist while the call ran
	code   codes.Code      // REST: the code of the error written, if any
}

type callKey struct{}

func withCall(ctx context.Context, id string) (context.Context, *call) {
	c := &call{id: id}
	return context.WithValue(ctx, callKey{}, c), c
}

func callOf(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// NoteTable records that the request of ctx touches table, for its log
// line and metrics labels. Safe without a request in ctx.
func NoteTable(ctx context.Context, table string) {
	c := callOf(ctx)
	if c == nil || table == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.tables, table) {
		c.tables = append(c.tables, table)
	}
}

// noteKnownTable is NoteTable for a table the caller saw existing (a
// dropped table no longer exists when the metrics are counted).
func noteKnownTable(ctx context.Context, table string) {
	NoteTable(ctx, table)
	if c := callOf(ctx); c != nil && table != "" {
		c.mu.Lock()
		if c.known == nil {
			c.known = map[string]bool{}
		}
		c.known[table] = true
		c.mu.Unlock()
	}
}

// RequestID returns the id of the request of ctx ("" outside a request).
func RequestID(ctx context.Context) string {
	if c := callOf(ctx); c != nil {
		return c.id
	}
	return ""
}

// table is the log field of the tables the call touched: their sorted
// names joined by commas.
func (c *call) table() string { return c.tableLabel(nil) }

// tableLabel is table() keeping only tables that exist (or were seen to),
// for the metrics.
func (c *call) tableLabel(exists func(string) bool) string {
	if c == nil {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var t []string
	for _, name := range c.tables {
		if exists == nil || c.known[name] || exists(name) {
			t = append(t, name)
		}
	}
	slices.Sort(t)
	return strings.Join(t, ",")
}

// requestID keeps a client's id when it is short and printable.
func requestID(given string) string {
	if given != "" && len(given) <= 128 && strings.IndexFunc(given, func(r rune) bool {
		return r > unicode.MaxASCII || !unicode.IsPrint(r)
	}) < 0 {
		return given
	}
	return ulid.Make().String()
}

// statusLabel is the status label of the request metrics: "success" or
// the gRPC code in snake case ("invalid_argument").
func statusLabel(c codes.Code) string {
	if c == codes.OK {
		return "success"
	}
	return snake(c.String())
}

// snake turns CamelCase into snake_case.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// methodLabel names a gRPC method for the metrics: the OlapService's as its
// REST twin ("write", "create_table"), Flight SQL's with a flight_ prefix.
func methodLabel(service, method string) string {
	switch service {
	case "olap.v1.OlapService":
		return snake(method)
	case "arrow.flight.protocol.FlightService":
		return "flight_" + snake(method)
	}
	return snake(service[strings.LastIndexByte(service, '.')+1:]) + "_" + snake(method)
}

const healthService = "grpc.health.v1.Health"

// GRPCOptions returns the interceptors every gRPC service of the node
// runs behind, outermost first: request id and metrics; one log line per
// call at info (debug for the health service); panic recovery; the request
// size limit of the OlapService.
func (t *Telemetry) GRPCOptions() []grpc.ServerOption {
	report := interceptors.CommonReportableFunc(t.reporter)
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithFieldsFromContext(logFields),
		logging.WithLevels(logLevel),
		logging.WithDurationField(func(d time.Duration) logging.Fields {
			return logging.Fields{"duration_ms", float64(d.Microseconds()) / 1000}
		}),
	}
	notHealth := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool { return c.Service != healthService })
	isOlap := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool { return c.Service == "olap.v1.OlapService" })
	rec := recovery.WithRecoveryHandlerContext(t.recovered)
	zl := zapLogger(t.log)
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(
			interceptors.UnaryServerInterceptor(report),
			selector.UnaryServerInterceptor(logging.UnaryServerInterceptor(zl, logOpts...), notHealth),
			recovery.UnaryServerInterceptor(rec),
			selector.UnaryServerInterceptor(t.limitRequest, isOlap),
		),
		grpc.ChainStreamInterceptor(
			interceptors.StreamServerInterceptor(report),
			selector.StreamServerInterceptor(logging.StreamServerInterceptor(zl, logOpts...), notHealth),
			recovery.StreamServerInterceptor(rec),
		),
	}
}

// reporter starts a call: its id (from the client's metadata or new,
// echoed in the response header) goes into the context, and its metrics
// are counted when it ends.
func (t *Telemetry) reporter(ctx context.Context, meta interceptors.CallMeta) (interceptors.Reporter, context.Context) {
	given := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(RequestIDHeader); len(v) > 0 {
			given = v[0]
		}
	}
	ctx, c := withCall(ctx, requestID(given))
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, c.id))
	return &callReporter{t: t, c: c, method: methodLabel(meta.Service, meta.Method), health: meta.Service == healthService}, ctx
}

type callReporter struct {
	interceptors.NoopReporter
	t      *Telemetry
	c      *call
	method string
	health bool
}

func (r *callReporter) PostCall(err error, took time.Duration) {
	if r.health {
		return
	}
	r.t.m.request(r.method, statusLabel(status.Code(err)), r.c.tableLabel(r.t.cfg.TableExists), took)
}

func logFields(ctx context.Context) logging.Fields {
	c := callOf(ctx)
	if c == nil {
		return nil
	}
	f := logging.Fields{"request_id", c.id}
	if t := c.table(); t != "" {
		f = append(f, "table", t)
	}
	return f
}

func (t *Telemetry) recovered(ctx context.Context, p any) error {
	t.log.Error("panic serving a request", zap.String("request_id", RequestID(ctx)),
		zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
	return status.Errorf(codes.Internal, "internal error (request %s)", RequestID(ctx))
}

// limitRequest refuses an OlapService request larger than MaxRequestBytes.
func (t *Telemetry) limitRequest(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if n := proto.Size(m); int64(n) > t.cfg.MaxRequestBytes {
			return nil, status.Errorf(codes.ResourceExhausted, "request of %d bytes exceeds the limit of %d bytes (server.max_request_bytes)", n, t.cfg.MaxRequestBytes)
		}
	}
	return h(ctx, req)
}

// zapLogger adapts zap to the middleware's logger.
func zapLogger(l *zap.Logger) logging.Logger {
	return logging.LoggerFunc(func(_ context.Context, lvl logging.Level, msg string, kv ...any) {
		fields := make([]zap.Field, 0, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			fields = append(fields, zap.Any(fmt.Sprint(kv[i]), kv[i+1]))
		}
		switch lvl {
		case logging.LevelDebug:
			l.Debug(msg, fields...)
		case logging.LevelInfo:
			l.Info(msg, fields...)
		case logging.LevelWarn:
			l.Warn(msg, fields...)
		default:
			l.Error(msg, fields...)
		}
	})
}

// logLevel is the level of a finished request's line, as the middleware
// picks it for gRPC: client mistakes at info, trouble at warn, faults at
// error.
func logLevel(c codes.Code) logging.Level {
	if c == codes.Unimplemented {
		return logging.LevelWarn // a client asking for what is not built, not a fault
	}
	return logging.DefaultServerCodeToLevel(c)
}

// zapLevel converts the middleware's (slog) level to zap's.
func zapLevel(l logging.Level) zapcore.Level {
	switch {
	case l < logging.LevelInfo:
		return zapcore.DebugLevel
	case l < logging.LevelWarn:
		return zapcore.InfoLevel
	case l < logging.LevelError:
		return zapcore.WarnLevel
	}
	return zapcore.ErrorLevel
}
