package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "miniodb:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "miniodb",
		Short:         "MinIODB: an Arrow Flight SQL data service over Parquet, DuckDB and object storage",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newSQLCmd(), newLoadCmd(), newBackupCmd(), newVersionCmd())
	return root
}
