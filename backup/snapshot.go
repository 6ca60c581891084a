package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// ErrNotFound is returned (wrapped) when a named backup does not exist.
var ErrNotFound = errors.New("backup: backup not found")

// ErrCorrupt is returned (wrapped) when a snapshot does not match its
// manifest's checksum or cannot be decoded.
var ErrCorrupt = errors.New("backup: snapshot corrupt")

// ErrInvalid is returned (wrapped) for a request that names an unknown
// mode, a bad backup name, or otherwise cannot be carried out as asked.
var ErrInvalid = errors.New("backup: invalid request")

// ErrNotEmpty is returned (wrapped) when a complete restore or a rebuild
// would overwrite a catalog that has tables, and force was not given.
var ErrNotEmpty = errors.New("backup: catalog is not empty")

// FormatVersion is the version of the snapshot and manifest documents.
// Version 2 holds each table's WAL positions per node ("flushed"); version
// 1 documents, from single nodes, held one "flushed_lsn", which reads as
// the position of the node that took the snapshot.
const FormatVersion = 2

// DefaultPrefix is where snapshots and manifests are stored. It is outside
// tables/, which start-up garbage collection owns.
const DefaultPrefix = "backups/metadata/"

// Snapshot is the whole catalog at one moment: every table with its schema,
// config, per-node flushed WAL positions and file index.
type Snapshot struct {
	Format         int             `json:"format"`
	Name           string          `json:"name"`
	CreatedAt      time.Time       `json:"created_at"`
	NodeID         string          `json:"node_id,omitempty"`
	BackupType     string          `json:"backup_type"`
	Description    string          `json:"description,omitempty"`
	CatalogVersion uint64          `json:"catalog_version"`
	Tables         []TableSnapshot `json:"tables"`
}

// TableSnapshot is one table of a Snapshot. Schema is the Arrow IPC schema
// message (base64 in JSON), as the catalog stores it.
type TableSnapshot struct {
	Name    string              `json:"name"`
	Schema  []byte              `json:"schema"`
	Config  catalog.TableConfig `json:"config"`
	Flushed map[string]uint64   `json:"flushed,omitempty"`
	// Incarnation is the table's life (catalog.Table.Incarnation).
	Incarnation string `json:"incarnation,omitempty"`
	// LegacyFlushedLSN is format 1's single position; decode moves it into
	// Flushed under the snapshot's node.
	LegacyFlushedLSN uint64         `json:"flushed_lsn,omitempty"`
	CreatedAt        time.Time      `json:"created_at"`
	Files            []catalog.File `json:"files"`
}

// Manifest describes one stored snapshot; List reads only manifests.
type Manifest struct {
	Format         int       `json:"format"`
	Name           string    `json:"name"`
	Object         string    `json:"object"`
	SHA256         string    `json:"sha256"`
	Bytes          int64     `json:"bytes"`
	CreatedAt      time.Time `json:"created_at"`
	NodeID         string    `json:"node_id,omitempty"`
	BackupType     string    `json:"backup_type"`
	Description    string    `json:"description,omitempty"`
	CatalogVersion uint64    `json:"catalog_version"`
	Tables         int       `json:"tables"`
	Files          int       `json:"files"`
	Rows           int64     `json:"rows"`
	DataBytes      int64     `json:"data_bytes"`
}

// Config configures the backup service. Zero values take the defaults noted.
type Config struct {
	// Prefix of snapshot objects in Store; default DefaultPrefix.
	Prefix string
	// NodeID is recorded in each snapshot.
	NodeID string
	// Keep is how many snapshots Create keeps (the oldest beyond it are
	// deleted); default 0 keeps all.
	Keep int
	// Locker serialises restores and rebuilds across nodes; default a
	// process-local lock.
	Locker Locker
	// LockTTL bounds how long a crashed holder blocks others; default 10m.
	LockTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Locker == nil {
		c.Locker = &LocalLocker{}
	}
	if c.LockTTL <= 0 {
		c.LockTTL = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Service takes, lists, validates and restores metadata snapshots, and
// rebuilds a catalog from the objects.
type Service struct {
	cfg   Config
	cat   catalog.Catalog
	data  objstore.Bucket // the primary store: tables/ objects
	store objstore.Bucket // where snapshots live (the backup bucket, or data)

	mu   sync.Mutex
	last Status
}

// New returns a backup service over cat and the primary object store data;
// snapshots are written to store (nil: data).
func New(cfg Config, cat catalog.Catalog, data, store objstore.Bucket) *Service {
	cfg.setDefaults()
	if store == nil {
		store = data
	}
	return &Service{cfg: cfg, cat: cat, data: data, store: store}
}

// CreateOptions are the seed's backup request fields.
type CreateOptions struct {
	BackupType  string `json:"backup_type"` // "full" (the only type; "" means full)
	Description string `json:"description"`
}

// Create takes a snapshot of the whole catalog and stores it with its
// manifest. Each table is read consistently: its FlushedLSN is read before
// and after its files, and the read is repeated if a flush came between.
func (s *Service) Create(ctx context.Context, opts CreateOptions) (Manifest, error) {
	if opts.BackupType == "" {
		opts.BackupType = "full"
	}
	if opts.BackupType != "full" {
		return Manifest{}, fmt.Errorf("%w: backup_type %q (only \"full\" is supported)", ErrInvalid, opts.BackupType)
	}
	snap, err := s.snapshot(ctx)
	if err != nil {
		s.noteFailure("create", err)
		return Manifest{}, fmt.Errorf("snapshot catalog: %w", err)
	}
	snap.BackupType, snap.Description = opts.BackupType, opts.Description
	m, err := s.write(ctx, snap)
	if err != nil {
		s.noteFailure("create", err)
		return Manifest{}, err
	}
	s.noteBackup(m)
	if err := s.prune(ctx); err != nil {
		return m, fmt.Errorf("backup %s written; prune old backups: %w", m.Name, err)
	}
	return m, nil
}

func (s *Service) snapshot(ctx context.Context) (Snapshot, error) {
	now := s.cfg.Now().UTC()
	snap := Snapshot{Format: FormatVersion, Name: newName(now), CreatedAt: now, NodeID: s.cfg.NodeID}
	v, err := s.cat.Version(ctx)
	if err != nil {
		return snap, err
	}
	snap.CatalogVersion = v
	tables, err := s.cat.Tables(ctx)
	if err != nil {
		return snap, err
	}
	for _, t := range tables {
		ts, ok, err := s.tableSnapshot(ctx, t.Name)
		if err != nil {
			return snap, err
		}
		if ok {
			snap.Tables = append(snap.Tables, ts)
		}
	}
	return snap, nil
}

// tableSnapshot reads one table and its files; ok is false when the table
// was dropped meanwhile.
func (s *Service) tableSnapshot(ctx context.Context, name string) (TableSnapshot, bool, error) {
	for attempt := 0; ; attempt++ {
		before, err := s.cat.Table(ctx, name)
		if errors.Is(err, catalog.ErrTableNotFound) {
			return TableSnapshot{}, false, nil
		}
		if err != nil {
			return TableSnapshot{}, false, err
		}
		files, err := s.cat.Files(ctx, name)
		if errors.Is(err, catalog.ErrTableNotFound) {
			return TableSnapshot{}, false, nil
		}
		if err != nil {
			return TableSnapshot{}, false, err
		}
		after, err := s.cat.Table(ctx, name)
		if err != nil && !errors.Is(err, catalog.ErrTableNotFound) {
			return TableSnapshot{}, false, err
		}
		if err == nil && maps.Equal(after.Flushed, before.Flushed) && after.Incarnation == before.Incarnation || attempt >= 20 {
			if err != nil {
				return TableSnapshot{}, false, nil
			}
			return toTableSnapshot(before, files), true, nil
		}
	}
}

func toTableSnapshot(t catalog.Table, files []catalog.File) TableSnapshot {
	if files == nil {
		files = []catalog.File{}
	}
	return TableSnapshot{Name: t.Name, Schema: flight.SerializeSchema(catalog.SchemaOrEmpty(t.Schema), memory.DefaultAllocator),
		Config: t.Config, Flushed: t.Flushed, Incarnation: t.Incarnation, CreatedAt: t.CreatedAt, Files: files}
}

// Table returns the catalog form of a table snapshot.
func (ts TableSnapshot) Table() (catalog.Table, error) {
	t := catalog.Table{Name: ts.Name, Config: ts.Config, Flushed: ts.Flushed, Incarnation: ts.Incarnation, CreatedAt: ts.CreatedAt}
	if len(ts.Schema) > 0 {
		sc, err := flight.DeserializeSchema(ts.Schema, memory.DefaultAllocator)
		if err != nil {
			return t, fmt.Errorf("%w: schema of table %s: %v", ErrCorrupt, ts.Name, err)
		}
		t.Schema = sc
	}
	return t, nil
}

// newName is backup_<yyyymmdd>_<hhmmss>_<6 hex>: sortable by time, unique.
func newName(t time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return "backup_" + t.Format("20060102_150405") + "_" + hex.EncodeToString(b)
}

func (s *Service) objectKey(name string) string   { return s.cfg.Prefix + name + ".json" }
func (s *Service) manifestKey(name string) string { return s.cfg.Prefix + name + ".manifest.json" }

// write stores the snapshot first and its manifest last: a snapshot
// without a manifest (crash in between) is invisible to List.
func (s *Service) write(ctx context.Context, snap Snapshot) (Manifest, error) {
	body, err := json.Marshal(snap)
	if err != nil {
		return Manifest{}, err
	}
	sum := sha256.Sum256(body)
	m := Manifest{Format: FormatVersion, Name: snap.Name, Object: s.objectKey(snap.Name), SHA256: hex.EncodeToString(sum[:]),
		Bytes: int64(len(body)), CreatedAt: snap.CreatedAt, NodeID: snap.NodeID, BackupType: snap.BackupType,
		Description: snap.Description, CatalogVersion: snap.CatalogVersion, Tables: len(snap.Tables)}
	for _, t := range snap.Tables {
		m.Files += len(t.Files)
		for _, f := range t.Files {
			m.Rows += f.Rows
			m.DataBytes += f.Bytes
		}
	}
	if err := s.store.Put(ctx, m.Object, bytes.NewReader(body), int64(len(body))); err != nil {
		return Manifest{}, fmt.Errorf("write backup %s: %w", m.Object, err)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if err := s.store.Put(ctx, s.manifestKey(m.Name), bytes.NewReader(mb), int64(len(mb))); err != nil {
		return Manifest{}, fmt.Errorf("write backup manifest %s: %w", m.Name, err)
	}
	return m, nil
}

// List returns every backup's manifest, newest first.
func (s *Service) List(ctx context.Context) ([]Manifest, error) {
	var keys []string
	err := s.store.List(ctx, s.cfg.Prefix, func(o objstore.ObjectInfo) error {
		if strings.HasSuffix(o.Key, ".manifest.json") {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	out := make([]Manifest, 0, len(keys))
	for _, k := range keys {
		m, err := s.readManifest(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name > out[j].Name })
	return out, nil
}

func (s *Service) readManifest(ctx context.Context, key string) (Manifest, error) {
	var m Manifest
	b, err := s.readObject(ctx, key)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: manifest %s: %v", ErrCorrupt, key, err)
	}
	return m, nil
}

func (s *Service) readObject(ctx context.Context, key string) ([]byte, error) {
	r, err := s.store.Get(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}

// normalize accepts a backup's name with or without ".json" (the seed's
// backup_file) and refuses anything that is not a plain name.
func normalize(name string) (string, error) {
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".manifest")
	if name == "" || strings.ContainsAny(name, "/\\") || strings.Contains(name, "..") {
		return "", fmt.Errorf("%w: backup name %q", ErrInvalid, name)
	}
	return name, nil
}

// Load reads a backup, checking its checksum against its manifest.
func (s *Service) Load(ctx context.Context, name string) (Manifest, Snapshot, error) {
	var snap Snapshot
	name, err := normalize(name)
	if err != nil {
		return Manifest{}, snap, err
	}
	m, err := s.readManifest(ctx, s.manifestKey(name))
	if err != nil {
		return m, snap, err
	}
	body, err := s.readObject(ctx, m.Object)
	if err != nil {
		return m, snap, err
	}
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); got != m.SHA256 || int64(len(body)) != m.Bytes {
		return m, snap, fmt.Errorf("%w: %s has sha256 %s (%d bytes), manifest says %s (%d bytes)", ErrCorrupt, m.Object, got, len(body), m.SHA256, m.Bytes)
	}
	if err := json.Unmarshal(body, &snap); err != nil {
		return m, snap, fmt.Errorf("%w: %s: %v", ErrCorrupt, m.Object, err)
	}
	if snap.Format == 1 {
		snap.upgradeFormat1()
	}
	if snap.Format != FormatVersion {
		return m, snap, fmt.Errorf("%w: %s has format %d, this build reads 1 and %d", ErrCorrupt, m.Object, snap.Format, FormatVersion)
	}
	return m, snap, nil
}

// Validation is the outcome of Validate.
type Validation struct {
	Name           string   `json:"name"`
	Valid          bool     `json:"valid"`
	ChecksumOK     bool     `json:"checksum_ok"`
	Tables         int      `json:"tables"`
	Files          int      `json:"files"`
	MissingObjects []string `json:"missing_objects,omitempty"`
	Errors         []string `json:"errors,omitempty"`
}

// Validate checks a backup's checksum, that it decodes, and that every
// object it references exists in the primary store. A backup that fails is
// reported (Valid false), not returned as an error; errors are for a
// backup that does not exist or a store that cannot be read.
func (s *Service) Validate(ctx context.Context, name string) (Validation, error) {
	_, snap, err := s.Load(ctx, name)
	v := Validation{Name: strings.TrimSuffix(name, ".json")}
	if errors.Is(err, ErrCorrupt) {
		v.Errors = append(v.Errors, err.Error())
		return v, nil
	}
	if err != nil {
		return v, err
	}
	v.ChecksumOK, v.Name, v.Tables = true, snap.Name, len(snap.Tables)
	for _, t := range snap.Tables {
		if _, err := t.Table(); err != nil {
			v.Errors = append(v.Errors, err.Error())
		}
		for _, f := range t.Files {
			v.Files++
			ok, err := objstore.Exists(ctx, s.data, f.Key)
			if err != nil {
				return v, fmt.Errorf("validate %s: %w", snap.Name, err)
			}
			if !ok {
				v.MissingObjects = append(v.MissingObjects, f.Key)
			}
		}
	}
	v.Valid = len(v.Errors) == 0 && len(v.MissingObjects) == 0
	return v, nil
}

// prune deletes the oldest backups beyond Config.Keep.
func (s *Service) prune(ctx context.Context) error {
	if s.cfg.Keep <= 0 {
		return nil
	}
	all, err := s.List(ctx)
	if err != nil || len(all) <= s.cfg.Keep {
		return err
	}
	for _, m := range all[s.cfg.Keep:] {
		// Manifest first: a backup without manifest is invisible.
		if err := s.store.Delete(ctx, s.manifestKey(m.Name)); err != nil {
			return err
		}
		if err := s.store.Delete(ctx, m.Object); err != nil {
			return err
		}
	}
	return nil
}

// upgradeFormat1 moves format 1's single flushed_lsn of every table to the
// node that took the snapshot: format 1 came from single nodes.
func (s *Snapshot) upgradeFormat1() {
	for i := range s.Tables {
		t := &s.Tables[i]
		if t.LegacyFlushedLSN > 0 && t.Flushed == nil {
			t.Flushed = map[string]uint64{s.NodeID: t.LegacyFlushedLSN}
		}
		t.LegacyFlushedLSN = 0
	}
	s.Format = FormatVersion
}
