package main

import (
	"context"
	"path/filepath"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// openStores opens the node's catalog and object store: the embedded
// default keeps both under the data folder (bbolt file + local folder).
func openStores(_ context.Context, cfg Config) (catalog.Catalog, objstore.Bucket, error) {
	dir := cfg.Server.DataDir
	bucket, err := objstore.NewFileBucket(filepath.Join(dir, "objects"))
	if err != nil {
		return nil, nil, err
	}
	cat, err := catalog.OpenBolt(filepath.Join(dir, "catalog.db"))
	if err != nil {
		return nil, nil, err
	}
	return cat, bucket, nil
}
