package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// FileBucket keeps objects as files under a root folder.
type FileBucket struct {
	root string
}

// NewFileBucket returns a bucket rooted at dir, creating dir if needed.
func NewFileBucket(dir string) (*FileBucket, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create bucket folder: %w", err)
	}
	return &FileBucket{root: dir}, nil
}

func (b *FileBucket) path(key string) (string, error) {
	clean := path.Clean(key)
	if key == "" || clean != key || strings.HasPrefix(clean, "../") || clean == ".." || path.IsAbs(clean) {
		return "", fmt.Errorf("objstore: invalid key %q", key)
	}
	return filepath.Join(b.root, filepath.FromSlash(clean)), nil
}

func notFound(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return err
}

// Get implements BucketReader.
func (b *FileBucket) Get(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	return f, notFound(key, err)
}

type sectionCloser struct {
	*io.SectionReader
	io.Closer
}

// GetRange implements BucketReader.
func (b *FileBucket) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	f := rc.(*os.File)
	if length < 0 {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		length = st.Size() - offset
	}
	return sectionCloser{io.NewSectionReader(f, offset, length), f}, nil
}

// Stat implements BucketReader.
func (b *FileBucket) Stat(_ context.Context, key string) (ObjectInfo, error) {
	p, err := b.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return ObjectInfo{}, notFound(key, err)
	}
	return ObjectInfo{Key: key, Size: st.Size(), Modified: st.ModTime()}, nil
}

// List implements BucketReader.
func (b *FileBucket) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	err := filepath.WalkDir(b.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".tmp") {
			return err
		}
		rel, err := filepath.Rel(b.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return notFound(key, err)
		}
		return fn(ObjectInfo{Key: key, Size: info.Size(), Modified: info.ModTime()})
	})
	return err // WalkDir visits in lexical order, which is key order
}

// Put implements Bucket.
func (b *FileBucket) Put(ctx context.Context, key string, r io.Reader, _ int64) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	return WriteFileAtomic(p, func(w io.Writer) error {
		_, err := io.Copy(w, readerWithContext{ctx, r})
		return err
	})
}

// PutFile stores the local file src as key without copying its bytes when
// it can: src is fsynced and hard-linked into the bucket, so the two names
// share one file, and neither may be written to afterwards. Where src is
// on another filesystem than the bucket, it is copied (Put).
func (b *FileBucket) PutFile(ctx context.Context, key, src string) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%x.tmp", p, rand.Uint64())
	if err := os.Link(src, tmp); errors.Is(err, syscall.EXDEV) {
		return b.Put(ctx, key, f, -1)
	} else if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(p))
}

// Delete implements Bucket.
func (b *FileBucket) Delete(_ context.Context, key string) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

type readerWithContext struct {
	ctx context.Context
	r   io.Reader
}

func (r readerWithContext) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// WriteFileAtomic writes path through fill: a temporary file in the same
// folder is written, fsynced and renamed over path, then the folder is
// fsynced, so path holds either the old or the whole new content.
func WriteFileAtomic(path string, fill func(io.Writer) error) error {
	return writeFile(path, true, fill)
}

// writeFile is WriteFileAtomic, with the fsyncs only if durable.
func writeFile(path string, durable bool, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if durable {
		if err = f.Sync(); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil || !durable {
		return err
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a folder so that renames and creations in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
