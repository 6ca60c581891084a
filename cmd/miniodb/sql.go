package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/spf13/cobra"
)

func newSQLCmd() *cobra.Command {
	var (
		cf     clientFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "sql [flags] QUERY",
		Short: "Run a SQL query on a MinIODB server and print the result",
		Long: `Run a SQL query on a MinIODB server and print the result.

QUERY "-" reads the query from standard input.

Formats:
  table  aligned text table with a header and a final "(N rows)" line
  csv    CSV with a header row; NULL is an empty field
  json   one JSON object per row (NDJSON): integers and floats as numbers,
         decimals as strings holding the exact value (e.g. "12.50"),
         dates and timestamps as ISO-8601 strings, NULL as null,
         NaN and infinities as the strings "NaN", "+Inf", "-Inf"
  arrow  an Arrow IPC stream`,
		Example: `  miniodb sql "SELECT count(*) FROM trips"
  echo "SELECT * FROM trips LIMIT 10" | miniodb sql --format json -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			query, err := readQuery(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runSQL(ctx, &cf, query, format, cmd.OutOrStdout())
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, csv, json or arrow")
	return cmd
}

// readQuery returns arg, or all of stdin when arg is "-".
func readQuery(arg string, stdin io.Reader) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(stdin)
	if err != nil {
		return "", fmt.Errorf("read query from stdin: %w", err)
	}
	q := strings.TrimSpace(string(b))
	if q == "" {
		return "", errors.New("empty query on stdin")
	}
	return q, nil
}

func runSQL(ctx context.Context, cf *clientFlags, query, format string, out io.Writer) error {
	if !validFormat(format) {
		return fmt.Errorf("unknown --format %q (want table, csv, json or arrow)", format)
	}
	c, err := cf.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Query(ctx, query)
	if err != nil {
		return cliError("query failed", err)
	}
	defer res.Release()
	bw := bufio.NewWriterSize(out, 64<<10)
	if err := render(res, format, bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// render writes every batch of rdr to w in the given format.
func render(rdr array.RecordReader, format string, w io.Writer) error {
	sink, err := newSink(format, w, rdr.Schema())
	if err != nil {
		return err
	}
	for rdr.Next() {
		rec, err := conform(rdr.Schema(), rdr.RecordBatch())
		if err == nil {
			err = sink.Write(rec)
			rec.Release()
		}
		if err != nil {
			return err
		}
	}
	if err := rdr.Err(); err != nil {
		return cliError("query failed", err)
	}
	return sink.Close()
}

// conform returns rec (retained) labelled with schema, so that batches whose
// schema differs from the announced one only in names, nullability or
// metadata still reach writers that insist on one schema.
func conform(schema *arrow.Schema, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if rec.Schema().Equal(schema) {
		rec.Retain()
		return rec, nil
	}
	if int(rec.NumCols()) != schema.NumFields() {
		return nil, fmt.Errorf("result batch has %d columns, schema has %d", rec.NumCols(), schema.NumFields())
	}
	for i, col := range rec.Columns() {
		if !arrow.TypeEqual(col.DataType(), schema.Field(i).Type) {
			return nil, fmt.Errorf("result column %d is %s, schema says %s", i, col.DataType(), schema.Field(i).Type)
		}
	}
	return array.NewRecordBatch(schema, rec.Columns(), rec.NumRows()), nil
}
