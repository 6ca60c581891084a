//go:build !linux

package objstore

import (
	"io/fs"
	"os"
	"path/filepath"
)

// syncTree makes everything written under dir durable, fsyncing each file
// and folder (there is no syncfs here).
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
