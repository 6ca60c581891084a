package flight

import (
	"bytes"
	"io"
	"runtime"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Results are sent without copying their batches (see the package doc).
// Measured: arrow-go's Flight writer copies each batch's body into one
// buffer and gRPC's proto codec copies that again into the message it
// frames; on a full scan streamed from memory the two copies, and clearing
// the second buffer, were 19% of the node's CPU (perf). A runtime cleanup
// releases a batch if gRPC drops its buffers without putting them back (a
// connection that dies with data queued).

// ServerOptions are the gRPC server options the Flight service needs: its
// codec, which frames the results' messages and leaves every other message
// to the proto codec.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ForceServerCodecV2(frameCodec{encoding.GetCodecV2(grpcproto.Name)})}
}

// frameCodec is the proto codec, but for outData, which it frames without
// copying its body.
type frameCodec struct{ encoding.CodecV2 }

func (c frameCodec) Marshal(v any) (mem.BufferSlice, error) {
	if d, ok := v.(*outData); ok {
		return d.wire(), nil
	}
	return c.CodecV2.Marshal(v)
}

// Unmarshal decodes a FlightData straight out of gRPC's buffers, which
// copies its body once; the proto codec joins the message into one buffer
// first and then copies the body out of it. Measured (SF1 lineitem through
// DoPut, five ingests per run, three runs): the node's CPU per DoPut 1.57
// -> 1.32 s median. Other messages, and a FlightData this does not decode
// (readFlightData), go to the proto codec.
func (c frameCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if d, ok := v.(*flight.FlightData); ok && readFlightData(data, d) {
		return nil
	}
	return c.CodecV2.Unmarshal(data, v)
}

// readFlightData decodes data into d and reports whether it could: it
// takes FlightData's four fields, each at most once, and leaves anything
// else (unknown or repeated fields, a malformed message) to the proto
// codec, with d untouched.
func readFlightData(data mem.BufferSlice, d *flight.FlightData) bool {
	r := data.Reader()
	defer r.Close()
	var fields [4][]byte // descriptor, header, app metadata, body
	var seen [4]bool
	for r.Remaining() > 0 {
		tag, ok := readVarint(r)
		if !ok {
			return false
		}
		num, typ := protowire.DecodeTag(tag)
		i := -1
		switch num {
		case fieldDescriptor:
			i = 0
		case fieldHeader:
			i = 1
		case fieldApp:
			i = 2
		case fieldBody:
			i = 3
		}
		n, ok := readVarint(r)
		if i < 0 || typ != protowire.BytesType || seen[i] || !ok || n > uint64(r.Remaining()) {
			return false
		}
		seen[i] = true
		fields[i] = make([]byte, n)
		if _, err := io.ReadFull(r, fields[i]); err != nil {
			return false
		}
	}
	var desc *flight.FlightDescriptor
	if seen[0] {
		desc = new(flight.FlightDescriptor)
		if proto.Unmarshal(fields[0], desc) != nil {
			return false
		}
	}
	d.Reset()
	d.FlightDescriptor, d.DataHeader, d.AppMetadata, d.DataBody = desc, fields[1], fields[2], fields[3]
	return true
}

// readVarint reads a protobuf varint.
func readVarint(r io.ByteReader) (uint64, bool) {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		b, err := r.ReadByte()
		if err != nil {
			return 0, false
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, true
		}
	}
	return 0, false
}

// minShared is the smallest body buffer a message refers to rather than
// copies: below it a copy is cheaper than the bookkeeping.
const minShared = 16 << 10

// outData is one FlightData message whose data_body is parts, in order.
type outData struct {
	desc   []byte // FlightDescriptor, encoded
	header []byte
	app    []byte
	parts  [][]byte
	hold   *holder // released once gRPC has let go of the parts it shares
	framed atomic.Bool
}

// Field numbers of arrow.flight.protocol.FlightData.
const (
	fieldDescriptor = 1
	fieldHeader     = 2
	fieldApp        = 3
	fieldBody       = 1000
)

// wire is the message's encoding, the same bytes proto.Marshal gives for
// the equivalent FlightData: fields in ascending order, empty ones left out.
func (d *outData) wire() mem.BufferSlice {
	var body int
	for _, p := range d.parts {
		body += len(p)
	}
	head := make([]byte, 0, 32+len(d.desc)+len(d.header)+len(d.app))
	for _, f := range []struct {
		num protowire.Number
		b   []byte
	}{{fieldDescriptor, d.desc}, {fieldHeader, d.header}, {fieldApp, d.app}} {
		if len(f.b) > 0 {
			head = protowire.AppendTag(head, f.num, protowire.BytesType)
			head = protowire.AppendBytes(head, f.b)
		}
	}
	if body > 0 {
		head = protowire.AppendTag(head, fieldBody, protowire.BytesType)
		head = protowire.AppendVarint(head, uint64(body))
	}
	var out mem.BufferSlice
	small := head
	for _, p := range d.parts {
		if len(p) < minShared {
			small = append(small, p...)
			continue
		}
		if len(small) > 0 {
			out = append(out, mem.SliceBuffer(small))
			small = nil
		}
		d.hold.refs.Add(1)
		out = append(out, mem.NewBuffer(&p, d.hold))
	}
	if len(small) > 0 {
		out = append(out, mem.SliceBuffer(small))
	}
	if !d.framed.Swap(true) {
		d.hold.Put(nil) // the message's own reference: only gRPC's are left
	}
	return out
}

// holder releases a batch once every buffer of it that gRPC was given is
// freed: it is the mem.BufferPool they are put back to. It starts with one
// reference, the message's own.
type holder struct {
	refs atomic.Int64
	rel  *release
}

// release is what a holder releases, kept apart from the holder so that a
// runtime cleanup can run it once the holder is unreachable.
type release struct {
	done  atomic.Bool
	batch arrow.RecordBatch // nil: nothing to release
}

func (r *release) run() {
	if !r.done.Swap(true) && r.batch != nil {
		r.batch.Release()
	}
}

// newHolder retains batch (if any) until the holder's references are all
// put back, or the holder is garbage.
func newHolder(batch arrow.RecordBatch) *holder {
	if batch != nil {
		batch.Retain()
	}
	h := &holder{rel: &release{batch: batch}}
	h.refs.Store(1)
	runtime.AddCleanup(h, (*release).run, h.rel)
	return h
}

// Get is never called: gRPC only puts back what it was given.
func (h *holder) Get(n int) *[]byte {
	b := make([]byte, n)
	return &b
}

// Put takes back one reference.
func (h *holder) Put(*[]byte) {
	if h.refs.Add(-1) == 0 {
		h.rel.run()
	}
}

// payloadSender is an ipc.PayloadWriter that sends each payload as one
// outData. A payload's buffers are its batch's own, or Go memory ipc
// allocated, which the parts keep alive: retaining the batch keeps them
// all valid. (An ipc allocator other than Go's would break this.)
type payloadSender struct {
	stream grpc.ServerStream
	batch  arrow.RecordBatch // the batch being written, nil for the schema
	desc   []byte            // for the next message only
	app    []byte            // for every message of the batch being written
}

func (s *payloadSender) Start() error { return nil }
func (s *payloadSender) Close() error { return nil }

func (s *payloadSender) WritePayload(p ipc.Payload) error {
	meta := p.Meta()
	d := &outData{desc: s.desc, header: bytes.Clone(meta.Bytes()), app: s.app}
	meta.Release()
	s.desc = nil
	if err := p.SerializeBody(partsOf{&d.parts}); err != nil {
		return err
	}
	d.hold = newHolder(s.batch)
	err := s.stream.SendMsg(d)
	if !d.framed.Swap(true) { // gRPC never took the parts
		d.hold.Put(nil)
	}
	return err
}

// partsOf collects what SerializeBody writes without copying it.
type partsOf struct{ parts *[][]byte }

func (p partsOf) Write(b []byte) (int, error) {
	*p.parts = append(*p.parts, b)
	return len(b), nil
}

// batchWriter writes batches to a stream as outData messages, the schema
// first.
type batchWriter struct {
	ps *payloadSender
	w  *ipc.Writer
}

func newBatchWriter(stream grpc.ServerStream, schema *arrow.Schema) *batchWriter {
	ps := &payloadSender{stream: stream}
	return &batchWriter{ps: ps, w: ipc.NewWriterWithPayloadWriter(ps, ipc.WithSchema(schema))}
}

// write sends b. desc goes with the next message only, app with every
// message of b, as arrow-go's Flight writer does.
func (bw *batchWriter) write(b arrow.RecordBatch, desc, app []byte) error {
	bw.ps.batch, bw.ps.desc, bw.ps.app = b, desc, app
	err := bw.w.Write(b)
	bw.ps.batch, bw.ps.desc, bw.ps.app = nil, nil, nil
	return err
}

// close sends the schema if no batch did.
func (bw *batchWriter) close() error { return bw.w.Close() }

// sendChunks streams a result: the schema, then each chunk's batch with its
// descriptor and app metadata, as flightsql's DoGet does.
func sendChunks(stream flight.FlightService_DoGetServer, schema *arrow.Schema, chunks <-chan flight.StreamChunk) error {
	defer func() {
		for c := range chunks {
			if c.Data != nil {
				c.Data.Release()
			}
		}
	}()
	w := newBatchWriter(stream, schema)
	defer w.close()
	ctx := stream.Context()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c, ok := <-chunks:
			if !ok {
				return nil
			}
			if c.Err != nil {
				return c.Err
			}
			var desc []byte
			if c.Desc != nil {
				var err error
				if desc, err = proto.Marshal(c.Desc); err != nil {
					c.Data.Release()
					return err
				}
			}
			err := w.write(c.Data, desc, c.AppMetadata)
			c.Data.Release()
			if err != nil {
				return err
			}
		}
	}
}

// dataServer answers the DoGet of a statement's or prepared statement's
// ticket with sendChunks and leaves the rest to flightsql.
type dataServer struct {
	flight.FlightServer
	s *Server
}

func (d dataServer) DoGet(tkt *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	var cmd anypb.Any
	if err := proto.Unmarshal(tkt.GetTicket(), &cmd); err != nil {
		return d.FlightServer.DoGet(tkt, stream) // flightsql names what is wrong
	}
	msg, err := cmd.UnmarshalNew()
	if err != nil {
		return d.FlightServer.DoGet(tkt, stream)
	}
	var (
		schema *arrow.Schema
		chunks <-chan flight.StreamChunk
	)
	switch m := msg.(type) {
	case *pb.TicketStatementQuery:
		schema, chunks, err = d.s.DoGetStatement(stream.Context(), m)
	case *pb.CommandPreparedStatementQuery:
		schema, chunks, err = d.s.DoGetPreparedStatement(stream.Context(), m)
	default:
		return d.FlightServer.DoGet(tkt, stream)
	}
	if err != nil {
		return err
	}
	return sendChunks(stream, schema, chunks)
}
