package flight

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// zcBatch is a batch of n rows with an int64, a string, a
// dictionary-encoded string and a nullable float64 column, in mem.
func zcBatch(mem memory.Allocator, n, from int) arrow.RecordBatch {
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "mode", Type: dict},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row %d of a batch long enough to share", i))
		if err := b.Field(2).(*array.BinaryDictionaryBuilder).AppendString([]string{"AIR", "RAIL", "SHIP"}[i%3]); err != nil {
			panic(err)
		}
		if i%7 == 0 {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Float64Builder).Append(float64(i) / 4)
		}
	}
	return b.NewRecordBatch()
}

// A message framed by hand is byte for byte what proto.Marshal makes of
// the same FlightData, and gRPC's references keep the batch until freed.
func TestWireIsFlightData(t *testing.T) {
	big := bytes.Repeat([]byte{7}, minShared)
	cases := []struct {
		name         string
		desc, header []byte
		app          []byte
		parts        [][]byte
		shared       int // parts the message refers to instead of copying
	}{
		{"schema_only", nil, []byte("header"), nil, nil, 0},
		{"small_body", nil, []byte("h"), nil, [][]byte{[]byte("abc"), make([]byte, 5)}, 0},
		{"shared_body", nil, []byte("h"), []byte("app"), [][]byte{big, []byte("pad"), big[:minShared-1], big}, 2},
		{"descriptor", mustMarshal(t, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte("x")}), []byte("h"), nil, [][]byte{big}, 1},
		{"empty", nil, nil, nil, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			batch := zcBatch(mem, 10, 0)
			d := &outData{desc: tc.desc, header: tc.header, app: tc.app, parts: tc.parts, hold: newHolder(batch)}
			batch.Release() // the holder's reference is the last
			wire := d.wire()
			want := &flight.FlightData{DataHeader: tc.header, AppMetadata: tc.app, DataBody: bytes.Join(tc.parts, nil)}
			if tc.desc != nil {
				want.FlightDescriptor = &flight.FlightDescriptor{}
				if err := proto.Unmarshal(tc.desc, want.FlightDescriptor); err != nil {
					t.Fatal(err)
				}
			}
			if got := wire.Materialize(); !bytes.Equal(got, mustMarshal(t, want)) {
				t.Fatalf("framed %x\nproto  %x", got, mustMarshal(t, want))
			}
			if got := d.hold.refs.Load(); got != int64(tc.shared) {
				t.Fatalf("%d references to the batch, want %d", got, tc.shared)
			}
			if tc.shared > 0 && mem.CurrentAlloc() == 0 {
				t.Fatal("batch released while gRPC still refers to it")
			}
			wire.Free()
			mem.AssertSize(t, 0)
		})
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chunkServer streams batches made for each DoGet with sendChunks,
// handing it the only reference to each; the last chunk carries app
// metadata and a descriptor.
type chunkServer struct {
	flight.BaseFlightServer
	make  func() []arrow.RecordBatch
	ended chan error
}

func (s *chunkServer) DoGet(_ *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	batches := s.make()
	ch := make(chan flight.StreamChunk, len(batches))
	for i, b := range batches {
		c := flight.StreamChunk{Data: b}
		if i == len(batches)-1 {
			c.AppMetadata = []byte("last")
			c.Desc = &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"t"}}
		}
		ch <- c
	}
	close(ch)
	err := sendChunks(stream, batches[0].Schema(), ch)
	s.ended <- err
	return err
}

// poisoning overwrites what it frees, so that a batch released while its
// bytes are still being sent arrives corrupted.
type poisoning struct{ memory.Allocator }

func (p poisoning) Free(b []byte) {
	for i := range b {
		b[i] = 0xee
	}
	p.Allocator.Free(b)
}

// zcBatches are the batches chunkServer sends: one small (every buffer
// copied), one sliced (offsets ipc rebases into buffers of its own) and
// one whole (columns of 240 KB and more, shared).
func zcBatches(mem memory.Allocator) []arrow.RecordBatch {
	whole := zcBatch(mem, 30000, 0)
	slice := whole.NewSlice(1000, 21000)
	return []arrow.RecordBatch{zcBatch(mem, 5, 0), slice, whole}
}

// serveChunks serves svc on a gRPC server made with ServerOptions and
// returns a function that dials it.
func serveChunks(t *testing.T, svc flight.FlightServer) (dial func() flight.Client) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(ServerOptions()...)
	flight.RegisterFlightServiceServer(srv, svc)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return func() flight.Client {
		c, err := flight.NewClientWithMiddleware(lis.Addr().String(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
}

// released waits until mem holds nothing: gRPC frees what it wrote after
// the handler returned, and a cleanup runs only after a collection.
func released(t *testing.T, mem *memory.CheckedAllocator) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for mem.CurrentAlloc() != 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	mem.AssertSize(t, 0)
}

func TestSendChunks(t *testing.T) {
	mem := memory.NewCheckedAllocator(poisoning{memory.NewGoAllocator()})
	svc := &chunkServer{ended: make(chan error, 1), make: func() []arrow.RecordBatch { return zcBatches(mem) }}
	dial := serveChunks(t, svc)
	c := dial()
	want := zcBatches(memory.NewGoAllocator())

	t.Run("client_reads_every_batch", func(t *testing.T) {
		stream, err := c.DoGet(context.Background(), &flight.Ticket{Ticket: []byte("all")})
		if err != nil {
			t.Fatal(err)
		}
		r, err := flight.NewRecordReader(stream)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		for i, w := range want {
			if !r.Next() {
				t.Fatalf("stream ended after %d batches: %v", i, r.Err())
			}
			if !array.RecordEqual(r.RecordBatch(), w) {
				t.Fatalf("batch %d differs:\n got %v\nwant %v", i, r.RecordBatch(), w)
			}
			if i == len(want)-1 {
				if got := string(r.LatestAppMetadata()); got != "last" {
					t.Fatalf("app metadata %q, want %q", got, "last")
				}
				if got := r.LatestFlightDescriptor().GetPath(); len(got) != 1 || got[0] != "t" {
					t.Fatalf("descriptor path %v, want [t]", got)
				}
			}
		}
		if r.Next() {
			t.Fatal("a batch beyond the last")
		}
		if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		if err := <-svc.ended; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("client_gone_mid_stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		stream, err := c.DoGet(ctx, &flight.Ticket{Ticket: []byte("all")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil { // the schema
			t.Fatal(err)
		}
		cancel()
		<-svc.ended // sent or failed: either way nothing may stay retained
	})

	t.Run("connection_closed_with_data_queued", func(t *testing.T) {
		big := &chunkServer{ended: make(chan error, 1), make: func() []arrow.RecordBatch {
			var bs []arrow.RecordBatch
			for i := range 8 {
				bs = append(bs, zcBatch(mem, 100000, i*100000)) // ≈ 7 MB each, past any window
			}
			return bs
		}}
		c := serveChunks(t, big)()
		stream, err := c.DoGet(context.Background(), &flight.Ticket{Ticket: []byte("all")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the server fills the windows and blocks
		c.Close()
		if err := <-big.ended; err == nil {
			t.Fatal("the stream ended well although its client went away")
		}
	})

	released(t, mem)
}

// A message gRPC never frames (the stream failed first) releases its batch
// at once.
func TestPayloadNotFramed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	batch := zcBatch(mem, 40000, 0)
	ps := &payloadSender{stream: failingStream{}, batch: batch}
	w := ipc.NewWriterWithPayloadWriter(ps, ipc.WithSchema(batch.Schema()))
	if err := w.Write(batch); err == nil {
		t.Fatal("a write to a failed stream succeeded")
	}
	batch.Release()
	mem.AssertSize(t, 0)
}

type failingStream struct{ grpc.ServerStream }

func (failingStream) SendMsg(any) error { return errors.New("stream broken") }

// The codec decodes a FlightData split over gRPC's buffers however they
// fall, as the proto codec does, and leaves what it does not take to it.
func TestReadFlightData(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 5000)
	full := &flight.FlightData{
		FlightDescriptor: &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte("ingest")},
		DataHeader:       []byte("header"), AppMetadata: []byte("app"), DataBody: body}
	marshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withUnknown := protowire.AppendBytes(protowire.AppendTag(marshal(full), 7, protowire.BytesType), []byte("x"))
	repeated := protowire.AppendBytes(protowire.AppendTag(marshal(full), fieldHeader, protowire.BytesType), []byte("again"))
	tests := []struct {
		name  string
		wire  []byte
		taken bool // decoded by readFlightData, not the proto codec
	}{
		{"every field", marshal(full), true},
		{"body only", marshal(&flight.FlightData{DataBody: body}), true},
		{"header only", marshal(&flight.FlightData{DataHeader: []byte("h")}), true},
		{"empty", nil, true},
		{"unknown field", withUnknown, false},
		{"repeated field", repeated, false},
		{"truncated", marshal(full)[:100], false},
	}
	codec := frameCodec{encoding.GetCodecV2(grpcproto.Name)}
	for _, tc := range tests {
		for _, chunk := range []int{1, 7, 16 << 10, len(tc.wire) + 1} {
			t.Run(fmt.Sprintf("%s/chunks of %d", tc.name, chunk), func(t *testing.T) {
				var data mem.BufferSlice
				for b := tc.wire; len(b) > 0; b = b[min(chunk, len(b)):] {
					data = append(data, mem.SliceBuffer(b[:min(chunk, len(b))]))
				}
				var want flight.FlightData
				wantErr := proto.Unmarshal(tc.wire, &want)
				got := flight.FlightData{DataHeader: []byte("stale")}
				if taken := readFlightData(data, &got); taken != tc.taken {
					t.Fatalf("readFlightData took it: %v, want %v", taken, tc.taken)
				}
				got = flight.FlightData{DataHeader: []byte("stale")}
				err := codec.Unmarshal(data, &got)
				if (err != nil) != (wantErr != nil) {
					t.Fatalf("Unmarshal: %v, proto.Unmarshal: %v", err, wantErr)
				}
				if err == nil && !proto.Equal(&got, &want) {
					t.Errorf("decoded %v, want %v", &got, &want)
				}
			})
		}
	}
}
