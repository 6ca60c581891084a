package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// openStores opens the node's catalog and object store. The embedded
// default keeps both under the data folder (bbolt file + local folder);
// a minio section puts objects on S3, a redis section puts the catalog in
// Redis. A Redis catalog must carry the identity this node recorded in
// <data_dir>/catalog.id, or start-up is refused (see checkIdentity).
func openStores(ctx context.Context, cfg Config) (catalog.Catalog, objstore.Bucket, error) {
	log, err := newLogger(cfg.Log)
	if err != nil {
		return nil, nil, err
	}
	bucket, err := openBucket(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if !cfg.Redis.Enabled() {
		cat, err := catalog.OpenBolt(filepath.Join(cfg.Server.DataDir, "catalog.db"))
		return cat, bucket, err
	}
	octx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
	defer cancel()
	cat, err := catalog.OpenRedis(octx, cfg.Redis)
	if err != nil {
		return nil, nil, err
	}
	if err := checkIdentity(octx, cfg, cat, bucket, log); err != nil {
		cat.Close()
		return nil, nil, err
	}
	return cat, bucket, nil
}

// storeOpenTimeout bounds connecting to Redis and MinIO at start-up.
const storeOpenTimeout = 60 * time.Second

func openBucket(ctx context.Context, cfg Config, log *zap.Logger) (objstore.Bucket, error) {
	if cfg.MinIO.Endpoint == "" {
		return objstore.NewFileBucket(filepath.Join(cfg.Server.DataDir, "objects"))
	}
	s3 := cfg.MinIO
	s3.Backup = cfg.backupS3()
	octx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
	defer cancel()
	b, err := objstore.NewS3Bucket(octx, s3, log)
	if err != nil {
		return nil, fmt.Errorf("open object store: %w", err)
	}
	return b, nil
}

// storeStatus is the pool status of the stores, for /v1/pool/status and
// the metrics (the API issue serves it).
type storeStatus struct {
	Redis *catalog.RedisStats  `json:"redis,omitempty"`
	MinIO []objstore.PoolStats `json:"minio,omitempty"`
}

func poolStatus(cat catalog.Catalog, bucket objstore.Bucket) storeStatus {
	var st storeStatus
	if r, ok := cat.(interface{ Stats() catalog.RedisStats }); ok {
		s := r.Stats()
		st.Redis = &s
	}
	if b, ok := bucket.(interface{ Stats() []objstore.PoolStats }); ok {
		st.MinIO = b.Stats()
	}
	return st
}

// identityCatalog is what checkIdentity needs of a catalog.
type identityCatalog interface {
	catalog.Identified
	Describe() string
}

// markerFile is <data_dir>/catalog.id: the identity of the catalog this
// node's data belongs to.
type markerFile struct {
	ID        string    `json:"catalog_id"`
	Catalog   string    `json:"catalog"`
	CreatedAt time.Time `json:"created_at"`
}

const markerName = "catalog.id"

// checkIdentity binds cat to this node's catalog identity, or refuses.
//
//	marker  catalog   node has data   →
//	  -       -           no            new catalog: create an identity
//	  -       -           yes           refuse: catalog lost (or never built)
//	  -       X           any           join the existing catalog X
//	  X       X           any           normal start
//	  X       -           any           refuse: catalog flushed
//	  X       Y           any           refuse: another catalog
func checkIdentity(ctx context.Context, cfg Config, cat identityCatalog, bucket objstore.Bucket, log *zap.Logger) error {
	dir := cfg.Server.DataDir
	marker, hasMarker, err := readMarker(dir)
	if err != nil {
		return err
	}
	remote, err := cat.ID(ctx)
	if err != nil {
		return err
	}
	switch {
	case hasMarker && remote == marker.ID:
		return cat.InitID(ctx, remote)
	case hasMarker:
		return lostCatalogError(cfg, cat, marker, remote, nodeData(ctx, dir, bucket))
	case remote != "":
		log.Info("joining existing catalog", zap.String("catalog", cat.Describe()), zap.String("catalog_id", remote))
		return bindAndMark(ctx, dir, cat, remote)
	}
	if data := nodeData(ctx, dir, bucket); len(data) > 0 {
		return lostCatalogError(cfg, cat, markerFile{}, "", data)
	}
	id := catalog.NewID()
	log.Info("creating new catalog", zap.String("catalog", cat.Describe()), zap.String("catalog_id", id))
	return bindAndMark(ctx, dir, cat, id)
}

func bindAndMark(ctx context.Context, dir string, cat identityCatalog, id string) error {
	if err := cat.InitID(ctx, id); err != nil {
		return err
	}
	b, err := json.MarshalIndent(markerFile{ID: id, Catalog: cat.Describe(), CreatedAt: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return objstore.WriteFileAtomic(filepath.Join(dir, markerName), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

func readMarker(dir string) (markerFile, bool, error) {
	var m markerFile
	b, err := os.ReadFile(filepath.Join(dir, markerName))
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	if err := json.Unmarshal(b, &m); err != nil || m.ID == "" {
		return m, false, fmt.Errorf("read %s: not a catalog marker (%v)", filepath.Join(dir, markerName), err)
	}
	return m, true, nil
}

// nodeData lists what this node holds that a catalog should describe:
// WAL records not yet flushed and objects under tables/.
func nodeData(ctx context.Context, dir string, bucket objstore.Bucket) []string {
	var out []string
	segs, _ := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
	var walBytes int64
	for _, s := range segs {
		if st, err := os.Stat(s); err == nil {
			walBytes += st.Size()
		}
	}
	if walBytes > 0 {
		out = append(out, fmt.Sprintf("%d bytes of write-ahead log in %s", walBytes, filepath.Join(dir, "wal")))
	}
	var first string
	errFound := errors.New("found")
	err := bucket.List(ctx, "tables/", func(o objstore.ObjectInfo) error { first = o.Key; return errFound })
	switch {
	case errors.Is(err, errFound):
		out = append(out, fmt.Sprintf("table objects in the object store (e.g. %s)", first))
	case err != nil:
		out = append(out, fmt.Sprintf("possibly table objects: the object store could not be listed (%v)", err))
	}
	return out
}

// lostCatalogError explains why start-up is refused and how to recover.
func lostCatalogError(cfg Config, cat identityCatalog, marker markerFile, remote string, data []string) error {
	var b strings.Builder
	b.WriteString("refusing to start: ")
	switch {
	case marker.ID == "":
		fmt.Fprintf(&b, "the catalog in %s is empty, but this node already has data", cat.Describe())
	case remote == "":
		fmt.Fprintf(&b, "the catalog in %s is empty (its identity key is gone: Redis was flushed, replaced or lost its data), "+
			"but this node's data belongs to catalog %s (%s)", cat.Describe(), marker.ID, filepath.Join(cfg.Server.DataDir, markerName))
	default:
		fmt.Fprintf(&b, "%s holds catalog %s, but this node's data belongs to catalog %s (%s)",
			cat.Describe(), remote, marker.ID, filepath.Join(cfg.Server.DataDir, markerName))
	}
	for _, d := range data {
		fmt.Fprintf(&b, "\n  - %s", d)
	}
	b.WriteString("\nServing that catalog as the truth would hide this data (and delete its objects as garbage).")
	b.WriteString("\nTo recover, rebuild the catalog from the objects: `miniodb backup rebuild-catalog` with this configuration" +
		" (or restore a metadata backup), then start again.")
	fmt.Fprintf(&b, "\nTo start from nothing instead, delete %s and %s and empty the bucket.",
		filepath.Join(cfg.Server.DataDir, markerName), filepath.Join(cfg.Server.DataDir, "wal"))
	return fmt.Errorf("%s\n(%w)", b.String(), catalog.ErrCatalogLost)
}
