package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/miniodb/miniodb/api"
	"github.com/miniodb/miniodb/backup"
	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// newBackupCmd is `miniodb backup`: metadata snapshots and catalog
// recovery, run against the stores of a configuration (the nodes need not
// run; restore and rebuild-catalog want them stopped).
func newBackupCmd() *cobra.Command {
	var configPath, dataDir string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Metadata backups (create, list, validate, status, restore) and catalog rebuild from the object store",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&configPath, "config", os.Getenv("MINIODB_CONFIG"), "YAML configuration file of the nodes (env MINIODB_CONFIG)")
	pf.StringVar(&dataDir, "data-dir", "./data", "the node's data folder (embedded catalog, objects, catalog.id)")
	open := func(cmd *cobra.Command, mode openMode) (*backupEnv, error) {
		cfg, err := loadConfig(configPath, os.Environ())
		if err != nil {
			return nil, err
		}
		if cmd.Flags().Changed("data-dir") {
			cfg.Server.DataDir = dataDir
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return openBackupEnv(cmd.Context(), cfg, mode)
	}
	run := func(mode openMode, f func(ctx context.Context, e *backupEnv, args []string) (any, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd, mode)
			if err != nil {
				return err
			}
			out, err := f(cmd.Context(), e, args)
			err = e.close(err)
			if out != nil {
				b, _ := json.MarshalIndent(out, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			}
			return err
		}
	}

	var description string
	create := &cobra.Command{Use: "create", Short: "Take a metadata backup of the whole catalog", Args: cobra.NoArgs,
		RunE: run(openRead, func(ctx context.Context, e *backupEnv, _ []string) (any, error) {
			return e.svc.Create(ctx, backup.CreateOptions{Description: description})
		})}
	create.Flags().StringVar(&description, "description", "", "stored with the backup")

	list := &cobra.Command{Use: "list", Short: "List metadata backups, newest first", Args: cobra.NoArgs,
		RunE: run(openStoreOnly, func(ctx context.Context, e *backupEnv, _ []string) (any, error) { return e.svc.List(ctx) })}

	validate := &cobra.Command{Use: "validate NAME", Short: "Check a backup's checksum and that every object it references exists", Args: cobra.ExactArgs(1),
		RunE: run(openStoreOnly, func(ctx context.Context, e *backupEnv, args []string) (any, error) {
			v, err := e.svc.Validate(ctx, args[0])
			if err == nil && !v.Valid {
				return v, fmt.Errorf("backup %s is not valid", v.Name)
			}
			return v, err
		})}

	status := &cobra.Command{Use: "status", Short: "Catalog size and the newest backup", Args: cobra.NoArgs,
		RunE: run(openRead, func(ctx context.Context, e *backupEnv, _ []string) (any, error) { return e.svc.Status(ctx) })}

	var ropts backup.RestoreOptions
	restore := &cobra.Command{Use: "restore NAME", Short: "Restore the catalog from a metadata backup (stop the nodes first)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ropts.Name = args[0]
			mode := openRepair
			if ropts.DryRun || ropts.Mode == backup.ModeDryRun || ropts.Mode == "dry-run" {
				mode = openDryRun
			}
			return run(mode, func(ctx context.Context, e *backupEnv, _ []string) (any, error) { return e.svc.Restore(ctx, ropts) })(cmd, args)
		}}
	rf := restore.Flags()
	rf.StringVar(&ropts.Mode, "mode", backup.ModeComplete, "complete (the catalog becomes the backup), merge (add missing tables) or dry_run")
	rf.BoolVar(&ropts.DryRun, "dry-run", false, "show what would change; change nothing")
	rf.BoolVar(&ropts.ForceOverwrite, "force-overwrite", false, "complete: replace a catalog that has tables; merge: replace tables in both")
	rf.BoolVar(&ropts.BackupCurrent, "backup-current", false, "take a backup of the current catalog first")

	var bopts backup.RebuildOptions
	rebuild := &cobra.Command{Use: "rebuild-catalog", Short: "Rebuild the catalog from the Parquet objects (and the newest metadata backup's table configs)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			mode := openRepair
			if bopts.DryRun {
				mode = openDryRun
			}
			return run(mode, func(ctx context.Context, e *backupEnv, _ []string) (any, error) { return e.svc.Rebuild(ctx, bopts) })(cmd, args)
		}}
	rebuild.Flags().BoolVar(&bopts.DryRun, "dry-run", false, "show what would be rebuilt; change nothing")
	rebuild.Flags().BoolVar(&bopts.Force, "force", false, "replace the tables of a catalog that is not empty")

	cmd.AddCommand(create, list, validate, status, restore, rebuild)
	return cmd
}

// openMode is what a backup subcommand does to the catalog.
type openMode int

const (
	openStoreOnly openMode = iota // reads backups only
	openRead                      // reads the catalog; it must have its identity
	openDryRun                    // reads; a lost catalog reads as empty
	openRepair                    // writes; a lost catalog gets this node's identity
)

// backupEnv is an open backup service and what to close after it.
type backupEnv struct {
	svc     *backup.Service
	closers []func()
	// rollbackID, when set, removes an identity given to a lost catalog
	// by this run: a half-restored catalog must not look whole to a node.
	rollbackID func()
}

func (e *backupEnv) close(err error) error {
	if err != nil && e.rollbackID != nil {
		e.rollbackID()
		err = fmt.Errorf("%w\n(the catalog identity this run gave the empty catalog was removed again, so no node starts on a partial catalog)", err)
	}
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	return err
}

func openBackupEnv(ctx context.Context, cfg Config, mode openMode) (*backupEnv, error) {
	log, err := newLogger(cfg.Log)
	if err != nil {
		return nil, err
	}
	log = log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))
	bucket, err := openBucket(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	e := &backupEnv{}
	bcfg := backup.Config{NodeID: cfg.Server.NodeID, Keep: cfg.Backup.Keep}
	cat, err := e.openCatalog(ctx, cfg, mode, &bcfg)
	if err != nil {
		e.close(nil)
		return nil, err
	}
	e.svc = backup.New(bcfg, cat, bucket, snapshotStore(bucket))
	return e, nil
}

// snapshotStore is the backup endpoint's bucket when one is configured
// (backup.minio), else nil: the primary store.
func snapshotStore(b objstore.Bucket) objstore.Bucket {
	if s3, ok := b.(*objstore.S3Bucket); ok && s3.Backup() != nil {
		return s3.Backup()
	}
	return nil
}

func (e *backupEnv) openCatalog(ctx context.Context, cfg Config, mode openMode, bcfg *backup.Config) (catalog.Catalog, error) {
	dir := cfg.Server.DataDir
	if !cfg.Redis.Enabled() {
		bcfg.Locker = backup.FileLocker{Path: filepath.Join(dir, "backup.lock")}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		cat, err := catalog.OpenBolt(filepath.Join(dir, "catalog.db"))
		if err != nil {
			return nil, fmt.Errorf("%w (is a node running on %s? stop it, or use the REST API /v1/metadata/*)", err, dir)
		}
		e.closers = append(e.closers, func() { cat.Close() })
		return cat, nil
	}
	octx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
	defer cancel()
	cat, err := catalog.OpenRedis(octx, cfg.Redis)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { cat.Close() })
	client, err := catalog.NewRedisClient(cfg.Redis)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { client.Close() })
	bcfg.Locker = backup.RedisLocker{Client: client, Namespace: cfg.Redis.Namespace}
	remote, err := cat.ID(octx)
	if err != nil {
		return nil, err
	}
	if remote != "" {
		return cat, cat.InitID(octx, remote)
	}
	switch mode {
	case openStoreOnly:
		return cat, nil // never asked
	case openRead:
		return nil, fmt.Errorf("the catalog in %s is empty (no identity): restore a backup or rebuild it first (%w)", cat.Describe(), catalog.ErrCatalogLost)
	case openDryRun:
		return e.scratchCatalog()
	}
	marker, ok, err := readMarker(dir)
	if err != nil {
		return nil, err
	}
	id := marker.ID
	if !ok {
		id = catalog.NewID()
	}
	if err := bindAndMark(octx, dir, cat, id); err != nil {
		return nil, err
	}
	idKey := "miniodb:{" + cfg.Redis.Namespace + "}:id" // docs/format/redis-catalog.md
	e.rollbackID = func() { rollbackIdentity(client, idKey, id) }
	return cat, nil
}

// scratchCatalog is an empty catalog standing in for a lost one in dry
// runs, so that planning never writes an identity into it.
func (e *backupEnv) scratchCatalog() (catalog.Catalog, error) {
	dir, err := os.MkdirTemp("", "miniodb-dry-run-")
	if err != nil {
		return nil, err
	}
	cat, err := catalog.OpenBolt(filepath.Join(dir, "catalog.db"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	e.closers = append(e.closers, func() { cat.Close(); os.RemoveAll(dir) })
	return cat, nil
}

func rollbackIdentity(client redis.UniversalClient, key, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, err := client.Get(ctx, key).Result(); err == nil && got == id {
		client.Del(ctx, key)
	} else if err != nil && !errors.Is(err, redis.Nil) {
		fmt.Fprintf(os.Stderr, "miniodb: could not remove the catalog identity %s: %v\n", key, err)
	}
}

// startBackups gives a serving node its backup service, takes a metadata
// backup every backup.interval seconds when backup.enabled, removes files
// past their table's retention_days every backup.retention_interval, and
// compacts small files every backup.compaction_interval. Both swap files
// through swap, the node's ingest service, so new queries see the change at
// once; the old objects go after backup.grace_period. With a backup
// endpoint, the objects of backup_enabled tables are copied there every
// backup.data_interval (the data backup API gets it). The returned stop
// ends them all and closes what they opened.
func startBackups(cfg Config, cat catalog.Catalog, bucket objstore.Bucket, swap backup.FileSwapper, forget func(string),
	observe func(table, status string), log *zap.Logger) (*backup.Service, api.DataBackups, func()) {
	bcfg := backup.Config{NodeID: cfg.Server.NodeID, Keep: cfg.Backup.Keep}
	var closers []func()
	if cfg.Redis.Enabled() {
		if client, err := catalog.NewRedisClient(cfg.Redis); err == nil {
			bcfg.Locker = backup.RedisLocker{Client: client, Namespace: cfg.Redis.Namespace}
			closers = append(closers, func() { client.Close() })
		}
	}
	svc := backup.New(bcfg, cat, bucket, snapshotStore(bucket))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if every := time.Duration(cfg.Backup.Interval) * time.Second; cfg.Backup.Enabled && every > 0 {
		wg.Go(func() { svc.Run(ctx, every, func(err error) { log.Warn("scheduled metadata backup", zap.Error(err)) }) })
	}
	ret := backup.NewRetention(retentionConfig(cfg, forget), cat, swap, bucket)
	wg.Go(func() {
		ret.Run(ctx, cmp.Or(cfg.Backup.RetentionInterval, time.Hour), func(err error) { log.Warn("retention", zap.Error(err)) })
	})
	if every := cmp.Or(cfg.Backup.CompactionInterval, time.Hour); every > 0 {
		comp := backup.NewCompactor(backup.CompactConfig{TargetBytes: cmp.Or(cfg.Backup.CompactionTargetBytes, 64<<20),
			MinFiles: cfg.Backup.CompactionMinFiles}, cat, swap, bucket, ret)
		wg.Go(func() {
			runEvery(ctx, every, func() error { _, err := comp.Pass(ctx); return err }, log.Named("compaction"))
		})
	}
	var data api.DataBackups
	if dst := snapshotStore(bucket); dst != nil {
		defaults := tableDefaults(cfg)
		// The config file's entry for a table overrides the table's own
		// setting; tables.default_config applies to the others.
		// The ingest service (swap) also gives the buffered rows that a
		// recovery must not add again.
		live, _ := swap.(backup.LiveReader)
		d := backup.NewDataBackup(backup.DataConfig{Observe: observe, Live: live, Enabled: func(t catalog.Table) bool {
			if o, ok := cfg.Tables[t.Name]; ok {
				return o.BackupEnabled
			}
			return t.Config.BackupEnabled || defaults.BackupEnabled
		}}, cat, bucket, dst, swap)
		data = d
		wg.Go(func() {
			runEvery(ctx, cmp.Or(cfg.Backup.DataInterval, time.Minute), func() error { _, err := d.Pass(ctx, backup.PassOptions{}); return err }, log.Named("data_backup"))
		})
	}
	return svc, data, func() {
		cancel()
		wg.Wait()
		for _, c := range closers {
			c()
		}
	}
}

// runEvery calls f every interval until ctx ends, logging its errors.
func runEvery(ctx context.Context, every time.Duration, f func() error, log *zap.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f(); err != nil && ctx.Err() == nil {
				log.Warn("pass failed", zap.Error(err))
			}
		}
	}
}

// retentionConfig is the retention_days of tables.default_config and of
// each tables.<name> entry.
func retentionConfig(cfg Config, forget func(string)) backup.RetentionConfig {
	rc := backup.RetentionConfig{Grace: cfg.Backup.GracePeriod, Forget: forget, Days: map[string]int64{}}
	for name, t := range cfg.Tables {
		if name == "default_config" {
			rc.DefaultDays = t.RetentionDays
		} else if t.RetentionDays > 0 {
			rc.Days[name] = t.RetentionDays
		}
	}
	return rc
}
