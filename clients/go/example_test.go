package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	client "github.com/miniodb/miniodb/clients/go"
)

// Ingest a small in-memory batch into a table, creating it if needed.
// (Needs a running server: `miniodb serve`.)
func ExampleClient_Ingest() {
	ctx := context.Background()
	c, err := client.Dial(ctx, "127.0.0.1:8080", client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	schema := arrow.NewSchema([]arrow.Field{{Name: "city", Type: arrow.BinaryTypes.String}, {Name: "temp", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"Oslo", "Lima"}, nil)
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{4.5, 19.0}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	defer rdr.Release()

	n, err := c.Ingest(ctx, "weather", rdr, client.ModeCreateAppend)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ingested", n, "rows")
}

// Run a query and stream its record batches.
// (Needs a running server: `miniodb serve`.)
func ExampleClient_Query() {
	ctx := context.Background()
	c, err := client.Dial(ctx, "127.0.0.1:8080", client.Options{Username: "admin", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	res, err := c.Query(ctx, "SELECT city, avg(temp) AS t FROM weather GROUP BY city")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Release()
	for res.Next() {
		rec := res.RecordBatch()
		fmt.Println(rec.NumRows(), "rows:", rec.Column(0), rec.Column(1))
	}
	if err := res.Err(); err != nil {
		log.Fatal(err) // status.Code(err) gives the server's gRPC code
	}
}
