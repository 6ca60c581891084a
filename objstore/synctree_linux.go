package objstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncTree makes everything written under dir durable: syncfs(2) on its
// file system, one call however many files the cache holds.
func syncTree(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
