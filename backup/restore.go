package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// Restore modes (the seed's).
const (
	ModeComplete = "complete" // the catalog becomes exactly the backup
	ModeMerge    = "merge"    // tables missing from the catalog are added
	ModeDryRun   = "dry_run"  // the plan of a complete restore; nothing changes
)

// RestoreOptions are the seed's recover request fields.
type RestoreOptions struct {
	Name string `json:"backup_file"`
	Mode string `json:"mode"` // complete (default), merge, dry_run
	// DryRun reports what Mode would do and changes nothing.
	DryRun bool `json:"dry_run"`
	// ForceOverwrite lets complete replace a catalog that has tables, and
	// merge replace tables that exist in both.
	ForceOverwrite bool `json:"force_overwrite"`
	// BackupCurrent takes a backup of the current catalog first.
	BackupCurrent bool `json:"backup_current"`
}

// RestoreResult says what a restore did (or, dry, would do).
type RestoreResult struct {
	Name           string   `json:"backup_file"`
	Mode           string   `json:"mode"`
	DryRun         bool     `json:"dry_run"`
	Created        []string `json:"tables_created,omitempty"`
	Replaced       []string `json:"tables_replaced,omitempty"`
	Dropped        []string `json:"tables_dropped,omitempty"`
	Skipped        []string `json:"tables_skipped,omitempty"`
	Files          int      `json:"files_restored"`
	CurrentBackup  string   `json:"current_backup,omitempty"`
	MissingObjects int      `json:"missing_objects"`
	Warnings       []string `json:"warnings,omitempty"`
}

// restoreLock is the Locker name of restores and rebuilds.
const restoreLock = "restore"

// Restore applies a backup to the catalog under the distributed lock.
//
// NOTE: a node loads the catalog at start-up and keeps its own view, so a
// restore is meant for stopped nodes (or a lost catalog); the API allows
// only dry runs on a live node.
func (s *Service) Restore(ctx context.Context, opts RestoreOptions) (RestoreResult, error) {
	res := RestoreResult{Name: opts.Name, Mode: opts.Mode, DryRun: opts.DryRun}
	switch opts.Mode {
	case "", ModeComplete:
		res.Mode = ModeComplete
	case ModeMerge:
	case ModeDryRun, "dry-run":
		res.Mode, res.DryRun = ModeComplete, true
	default:
		return res, fmt.Errorf("%w: mode %q (complete, merge or dry_run)", ErrInvalid, opts.Mode)
	}
	_, snap, err := s.Load(ctx, opts.Name)
	if err != nil {
		return res, err
	}
	res.Name = snap.Name
	unlock, err := s.cfg.Locker.TryLock(ctx, restoreLock, s.holder("restore "+snap.Name), s.cfg.LockTTL)
	if err != nil {
		return res, err
	}
	defer unlock()
	current, err := s.cat.Tables(ctx)
	if err != nil {
		return res, fmt.Errorf("read current catalog: %w", err)
	}
	if err := s.plan(&res, snap, current, opts.ForceOverwrite); err != nil {
		return res, err
	}
	if err := s.checkObjects(ctx, &res, snap); err != nil {
		return res, err
	}
	if res.DryRun {
		return res, nil
	}
	if opts.BackupCurrent && len(current) > 0 {
		m, err := s.Create(ctx, CreateOptions{Description: "before restore of " + snap.Name})
		if err != nil {
			return res, fmt.Errorf("back up the current catalog first: %w", err)
		}
		res.CurrentBackup = m.Name
	}
	if err := s.apply(ctx, &res, snap); err != nil {
		s.noteFailure("restore", err)
		return res, err
	}
	s.noteRestore(snap.Name)
	return res, nil
}

func (s *Service) holder(what string) string {
	h, _ := os.Hostname()
	if s.cfg.NodeID != "" {
		h = s.cfg.NodeID + "@" + h
	}
	return fmt.Sprintf("%s pid %d: %s", h, os.Getpid(), what)
}

// plan fills res.Created/Replaced/Dropped/Skipped.
func (s *Service) plan(res *RestoreResult, snap Snapshot, current []catalog.Table, force bool) error {
	have := map[string]bool{}
	for _, t := range current {
		have[t.Name] = true
	}
	inSnap := map[string]bool{}
	for _, t := range snap.Tables {
		inSnap[t.Name] = true
		switch {
		case !have[t.Name]:
			res.Created = append(res.Created, t.Name)
		case res.Mode == ModeComplete || force:
			res.Replaced = append(res.Replaced, t.Name)
		default:
			res.Skipped = append(res.Skipped, t.Name)
		}
		if !have[t.Name] || res.Mode == ModeComplete || force {
			res.Files += len(t.Files)
		}
	}
	if res.Mode == ModeComplete {
		for _, t := range current {
			if !inSnap[t.Name] {
				res.Dropped = append(res.Dropped, t.Name)
			}
		}
		if len(current) > 0 && !force && !res.DryRun {
			return fmt.Errorf("%w: it has %d tables (%s); a complete restore replaces them: set force_overwrite (and backup_current to keep a copy)",
				ErrNotEmpty, len(current), strings.Join(tableNames(current), ", "))
		}
	}
	return nil
}

// checkObjects counts referenced objects that are missing, and objects
// under tables/ that the restored catalog would not reference: a node
// starting on it deletes those as garbage.
func (s *Service) checkObjects(ctx context.Context, res *RestoreResult, snap Snapshot) error {
	known := map[string]bool{}
	for _, t := range snap.Tables {
		for _, f := range t.Files {
			known[f.Key] = true
		}
	}
	restored := map[string]bool{}
	for _, n := range append(append([]string{}, res.Created...), res.Replaced...) {
		restored[n] = true
	}
	seen := map[string]bool{}
	var extra []string
	err := s.data.List(ctx, "tables/", func(o objstore.ObjectInfo) error {
		seen[o.Key] = true
		if tbl := tableOfKey(o.Key); !known[o.Key] && restored[tbl] {
			extra = append(extra, o.Key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list objects: %w", err)
	}
	for k := range known {
		if !seen[k] {
			res.MissingObjects++
		}
	}
	if res.MissingObjects > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d objects the backup references are missing from the object store; queries over them fail", res.MissingObjects))
	}
	if len(extra) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d objects of the restored tables are newer than the backup (e.g. %s); a node starting on the restored catalog deletes them as unreferenced. "+
			"To keep them, rebuild the catalog from the objects instead (miniodb backup rebuild-catalog)", len(extra), extra[0]))
	}
	return nil
}

// tableOfKey is <table> of tables/<table>/...
func tableOfKey(key string) string {
	rest := strings.TrimPrefix(key, "tables/")
	if i := strings.IndexByte(rest, '/'); i > 0 {
		return rest[:i]
	}
	return ""
}

func (s *Service) apply(ctx context.Context, res *RestoreResult, snap Snapshot) error {
	drop := append(append([]string{}, res.Dropped...), res.Replaced...)
	for _, name := range drop {
		// The objects stay: only the catalog entries go.
		if _, err := s.cat.DropTable(ctx, name); err != nil && !errors.Is(err, catalog.ErrTableNotFound) {
			return fmt.Errorf("drop table %s: %w", name, err)
		}
	}
	write := map[string]bool{}
	for _, n := range append(append([]string{}, res.Created...), res.Replaced...) {
		write[n] = true
	}
	for _, ts := range snap.Tables {
		if !write[ts.Name] {
			continue
		}
		t, err := ts.Table()
		if err != nil {
			return err
		}
		if err := putTable(ctx, s.cat, t, ts.Files); err != nil {
			return err
		}
	}
	return nil
}

// putTable creates t with its flushed positions and files through the
// Catalog interface: CreateTable, then one ReplaceFiles adding the files.
func putTable(ctx context.Context, cat catalog.Catalog, t catalog.Table, files []catalog.File) error {
	if err := cat.CreateTable(ctx, t); err != nil {
		return fmt.Errorf("create table %s: %w", t.Name, err)
	}
	if len(files) == 0 {
		return nil
	}
	if _, err := cat.ReplaceFiles(ctx, t.Name, nil, files); err != nil {
		return fmt.Errorf("restore files of table %s: %w", t.Name, err)
	}
	return nil
}

func tableNames(ts []catalog.Table) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}
