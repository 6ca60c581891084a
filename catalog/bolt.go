package catalog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	bolt "go.etcd.io/bbolt"
)

var (
	bucketMeta   = []byte("meta")
	bucketTables = []byte("tables")
	bucketFiles  = []byte("files")
	keyVersion   = []byte("version")
)

// Bolt is the embedded single-node catalog, one bbolt file.
type Bolt struct {
	db      *bolt.DB
	members boltMembers
}

// OpenBolt opens (creating if needed) the catalog file at path.
func OpenBolt(path string) (*Bolt, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketTables, bucketFiles} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init catalog %s: %w", path, err)
	}
	return &Bolt{db: db}, nil
}

// Close closes the bbolt file.
func (c *Bolt) Close() error { return c.db.Close() }

// update runs fn in a write transaction and bumps the version.
func (c *Bolt) update(fn func(tx *bolt.Tx) error) error {
	return c.db.Update(func(tx *bolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		v := uint64(0)
		if b := meta.Get(keyVersion); len(b) == 8 {
			v = binary.BigEndian.Uint64(b)
		}
		return meta.Put(keyVersion, binary.BigEndian.AppendUint64(nil, v+1))
	})
}

func getTable(tx *bolt.Tx, name string) (Table, error) {
	b := tx.Bucket(bucketTables).Get([]byte(name))
	if b == nil {
		return Table{}, fmt.Errorf("%w: %s", ErrTableNotFound, name)
	}
	return decodeTable(b)
}

func putTable(tx *bolt.Tx, t Table) error {
	b, err := encodeTable(t)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketTables).Put([]byte(t.Name), b)
}

// CreateTable implements Catalog.
func (c *Bolt) CreateTable(_ context.Context, t Table) error {
	return c.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketTables).Get([]byte(t.Name)) != nil {
			return fmt.Errorf("%w: %s", ErrTableExists, t.Name)
		}
		if _, err := tx.Bucket(bucketFiles).CreateBucketIfNotExists([]byte(t.Name)); err != nil {
			return err
		}
		return putTable(tx, t)
	})
}

// Table implements Catalog.
func (c *Bolt) Table(_ context.Context, name string) (t Table, err error) {
	err = c.db.View(func(tx *bolt.Tx) error {
		t, err = getTable(tx, name)
		return err
	})
	return t, err
}

// Tables implements Catalog.
func (c *Bolt) Tables(_ context.Context) ([]Table, error) {
	var out []Table
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTables).ForEach(func(_, v []byte) error {
			t, err := decodeTable(v)
			out = append(out, t)
			return err
		})
	})
	return out, err // bbolt iterates keys in byte order: already sorted
}

// UpdateTable implements Catalog.
func (c *Bolt) UpdateTable(_ context.Context, name string, schema *arrow.Schema, cfg TableConfig) error {
	return c.update(func(tx *bolt.Tx) error {
		t, err := getTable(tx, name)
		if err != nil {
			return err
		}
		t.Schema, t.Config = schema, cfg
		return putTable(tx, t)
	})
}

// ReplaceTable implements Catalog.
func (c *Bolt) ReplaceTable(_ context.Context, name, node, incarnation string, schema *arrow.Schema, flushedLSN uint64) (removed []File, err error) {
	err = c.update(func(tx *bolt.Tx) error {
		t, err := getTable(tx, name)
		if err != nil {
			return err
		}
		if removed, err = clearFiles(tx, name); err != nil {
			return err
		}
		t.Schema, t.Flushed, t.Incarnation = schema, withFlushed(t.Flushed, node, flushedLSN), incarnation
		return putTable(tx, t)
	})
	return removed, err
}

// DropTable implements Catalog.
func (c *Bolt) DropTable(_ context.Context, name string) (removed []File, err error) {
	err = c.update(func(tx *bolt.Tx) error {
		if _, err := getTable(tx, name); err != nil {
			return err
		}
		if removed, err = listFiles(tx, name); err != nil {
			return err
		}
		if err := tx.Bucket(bucketFiles).DeleteBucket([]byte(name)); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return err
		}
		return tx.Bucket(bucketTables).Delete([]byte(name))
	})
	return removed, err
}

func clearFiles(tx *bolt.Tx, table string) ([]File, error) {
	files, err := listFiles(tx, table)
	if err != nil {
		return nil, err
	}
	fb := tx.Bucket(bucketFiles)
	if err := fb.DeleteBucket([]byte(table)); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
		return nil, err
	}
	_, err = fb.CreateBucket([]byte(table))
	return files, err
}

func listFiles(tx *bolt.Tx, table string) ([]File, error) {
	b := tx.Bucket(bucketFiles).Bucket([]byte(table))
	if b == nil {
		return nil, nil
	}
	var files []File
	err := b.ForEach(func(_, v []byte) error {
		var f File
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("decode file of table %s: %w", table, err)
		}
		files = append(files, f)
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Key < files[j].Key })
	return files, err
}

// CommitFlush implements Catalog.
func (c *Bolt) CommitFlush(_ context.Context, table, node string, files []File, flushedLSN uint64) error {
	return c.commitFlush(table, node, files, flushedLSN, nil)
}

// commitFlush is CommitFlush with more writes (extra) in its transaction.
func (c *Bolt) commitFlush(table, node string, files []File, flushedLSN uint64, extra func(*bolt.Tx) error) error {
	return c.update(func(tx *bolt.Tx) error {
		t, err := getTable(tx, table)
		if err != nil {
			return err
		}
		if have := t.FlushedLSN(node); have >= flushedLSN {
			return fmt.Errorf("%w: table %s covers LSN %d of node %s, flush %d", ErrStaleFlush, table, have, node, flushedLSN)
		}
		if f, stale := t.staleFile(files); stale {
			return fmt.Errorf("%w: table %s was replaced: file %s belongs to incarnation %s, the table is %s", ErrStaleFlush, table, f.Key, f.Incarnation, t.Incarnation)
		}
		if f, dup := t.overlapping(files, node); dup {
			return fmt.Errorf("%w: table %s: file %s holds LSN %d of node %s, which the table covers already", ErrStaleFlush, table, f.Key, f.MinLSN, node)
		}
		fb, err := tx.Bucket(bucketFiles).CreateBucketIfNotExists([]byte(table))
		if err != nil {
			return err
		}
		for _, f := range files {
			b, err := json.Marshal(f)
			if err != nil {
				return err
			}
			if err := fb.Put([]byte(f.Key), b); err != nil {
				return err
			}
		}
		t.Flushed = withFlushed(t.Flushed, node, flushedLSN)
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		return putTable(tx, t)
	})
}

// Files implements Catalog.
func (c *Bolt) Files(_ context.Context, table string) (files []File, err error) {
	err = c.db.View(func(tx *bolt.Tx) error {
		if _, err := getTable(tx, table); err != nil {
			return err
		}
		files, err = listFiles(tx, table)
		return err
	})
	return files, err
}

// Version implements Catalog.
func (c *Bolt) Version(_ context.Context) (v uint64, err error) {
	err = c.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta).Get(keyVersion); len(b) == 8 {
			v = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	return v, err
}
