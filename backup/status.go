package backup

import (
	"context"
	"time"
)

// Status is what the service has done lately, for /v1/metadata/status.
type Status struct {
	CatalogVersion uint64    `json:"catalog_version"`
	Tables         int       `json:"tables"`
	Files          int       `json:"files"`
	Rows           int64     `json:"rows"`
	Backups        int       `json:"backups"`
	LastBackup     *Manifest `json:"last_backup,omitempty"`
	LastRestore    string    `json:"last_restore,omitempty"`
	LastRestoreAt  time.Time `json:"last_restore_at,omitzero"`
	LastError      string    `json:"last_error,omitempty"`
	LastErrorAt    time.Time `json:"last_error_at,omitzero"`
	Scheduled      bool      `json:"scheduled"`
	Interval       string    `json:"interval,omitempty"`
}

// Status reports the catalog's size, the newest backup and the last
// outcomes of this service.
func (s *Service) Status(ctx context.Context) (Status, error) {
	s.mu.Lock()
	st := s.last
	s.mu.Unlock()
	v, err := s.cat.Version(ctx)
	if err != nil {
		return st, err
	}
	st.CatalogVersion = v
	tables, err := s.cat.Tables(ctx)
	if err != nil {
		return st, err
	}
	st.Tables = len(tables)
	for _, t := range tables {
		files, err := s.cat.Files(ctx, t.Name)
		if err != nil {
			continue // dropped meanwhile
		}
		st.Files += len(files)
		for _, f := range files {
			st.Rows += f.Rows
		}
	}
	all, err := s.List(ctx)
	if err != nil {
		return st, err
	}
	st.Backups = len(all)
	if len(all) > 0 {
		st.LastBackup = &all[0]
	}
	return st, nil
}

func (s *Service) noteBackup(m Manifest) {
	s.mu.Lock()
	s.last.LastBackup = &m
	s.mu.Unlock()
}

func (s *Service) noteRestore(name string) {
	s.mu.Lock()
	s.last.LastRestore, s.last.LastRestoreAt = name, s.cfg.Now().UTC()
	s.mu.Unlock()
}

func (s *Service) noteFailure(op string, err error) {
	s.mu.Lock()
	s.last.LastError, s.last.LastErrorAt = op+": "+err.Error(), s.cfg.Now().UTC()
	s.mu.Unlock()
}

// Run takes a backup every interval until ctx ends (the seed's
// backup.enabled + backup.interval). Failures are recorded in Status and
// passed to onErr; the next tick tries again.
func (s *Service) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	s.mu.Lock()
	s.last.Scheduled, s.last.Interval = true, interval.String()
	s.mu.Unlock()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Create(ctx, CreateOptions{Description: "scheduled"}); err != nil && ctx.Err() == nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
