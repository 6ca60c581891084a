package catalog

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

// ReplaceFiles implements Catalog.
func (c *Bolt) ReplaceFiles(_ context.Context, table string, remove []string, add []File) (removed []File, err error) {
	err = c.update(func(tx *bolt.Tx) error {
		removed = nil
		if _, err := getTable(tx, table); err != nil {
			return err
		}
		fb, err := tx.Bucket(bucketFiles).CreateBucketIfNotExists([]byte(table))
		if err != nil {
			return err
		}
		for _, k := range remove {
			v := fb.Get([]byte(k))
			if v == nil {
				return fmt.Errorf("%w: %s is no longer a file of table %s", ErrFilesChanged, k, table)
			}
			var f File
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode file of table %s: %w", table, err)
			}
			removed = append(removed, f)
			if err := fb.Delete([]byte(k)); err != nil {
				return err
			}
		}
		for _, f := range add {
			b, err := json.Marshal(f)
			if err != nil {
				return err
			}
			if err := fb.Put([]byte(f.Key), b); err != nil {
				return err
			}
		}
		return nil
	})
	return removed, err
}

// ReplaceFiles implements Catalog. The WATCH on the version makes the
// check of the removed keys and the swap one step.
func (r *Redis) ReplaceFiles(ctx context.Context, table string, remove []string, add []File) (removed []File, err error) {
	fields := make([]any, 0, 2*len(add))
	for _, f := range add {
		b, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f.Key, b)
	}
	err = r.update(ctx, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		removed = nil
		if _, err := r.getTable(ctx, tx, table); err != nil {
			return nil, err
		}
		if len(remove) > 0 {
			vals, err := tx.HMGet(ctx, r.keys.files(table), remove...).Result()
			if err != nil {
				return nil, err
			}
			for i, v := range vals {
				s, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("%w: %s is no longer a file of table %s", ErrFilesChanged, remove[i], table)
				}
				var f File
				if err := json.Unmarshal([]byte(s), &f); err != nil {
					return nil, fmt.Errorf("decode file of table %s: %w", table, err)
				}
				removed = append(removed, f)
			}
		}
		return func(p redis.Pipeliner) {
			if len(remove) > 0 {
				p.HDel(ctx, r.keys.files(table), remove...)
			}
			if len(fields) > 0 {
				p.HSet(ctx, r.keys.files(table), fields...)
			}
		}, nil
	})
	return removed, err
}
