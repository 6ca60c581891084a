package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	client "github.com/miniodb/miniodb/clients/go"
)

type loadOptions struct {
	table     string
	mode      string
	batchRows int
	delimiter string
}

func newLoadCmd() *cobra.Command {
	var (
		cf clientFlags
		o  loadOptions
	)
	cmd := &cobra.Command{
		Use:   "load FILE --table T",
		Short: "Bulk-load a Parquet or CSV file into a table",
		Long: `Bulk-load a Parquet (.parquet) or CSV (.csv, .tsv) file into a table with one
Flight SQL ingest stream, reading the file in batches of --batch-rows rows.

CSV files must have a header row. Column types are inferred from the first
1000 data rows (BIGINT, DOUBLE, BOOLEAN, DATE, TIMESTAMP, TIMESTAMPTZ, else
VARCHAR); empty fields, NULL and null are NULL.

Modes: create (fail if the table exists), append (fail if it does not),
create_append (create if missing, else append), replace (create if missing,
else replace its contents).`,
		Example: `  miniodb load trips.parquet --table trips
  miniodb load sales.csv --table sales --mode replace --csv-delimiter ';'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runLoad(ctx, &cf, args[0], o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.table, "table", "", "target table (required)")
	fl.StringVar(&o.mode, "mode", "create_append", "create, append, create_append or replace")
	fl.IntVar(&o.batchRows, "batch-rows", 65536, "rows per record batch sent")
	fl.StringVar(&o.delimiter, "csv-delimiter", "", `CSV field delimiter, one character or "\t" (default "," or tab for .tsv)`)
	_ = cmd.MarkFlagRequired("table")
	return cmd
}

func runLoad(ctx context.Context, cf *clientFlags, path string, o loadOptions, out, errOut io.Writer) error {
	mode, err := client.ParseIngestMode(o.mode)
	if err != nil {
		return err
	}
	if o.batchRows <= 0 {
		return errors.New("--batch-rows must be positive")
	}
	src, err := openSource(ctx, path, o.batchRows, o.delimiter)
	if err != nil {
		return err
	}
	defer src.Close()
	c, err := cf.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()

	prog := newProgress(errOut, src.total, isTerminal(errOut))
	rdr := &countingReader{RecordReader: src.rdr, onBatch: prog.update}
	start := time.Now()
	n, err := c.Ingest(ctx, o.table, rdr, mode)
	prog.clear()
	if err != nil {
		return cliError(fmt.Sprintf("load %s into %s (%d rows sent)", path, o.table, rdr.rows), err)
	}
	if n < 0 { // the server did not count
		n = rdr.rows
	}
	secs := time.Since(start).Seconds()
	_, err = fmt.Fprintf(out, "loaded %d rows into %s in %.2f s (%.0f rows/s)\n", n, o.table, secs, float64(n)/secs)
	return err
}
