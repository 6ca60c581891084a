package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
)

// An ingest split across nodes commits in two phases. Every owner stages
// its part and Prepares it: the DATA records and a PREPARE record naming
// the ingest's id are durable, the rows are invisible. The receiving node
// then records the outcome in the catalog's register (Decider) and tells
// every owner to Resolve. An owner that hears nothing for PrepareTimeout,
// or finds a PREPARE without COMMIT or ABORT when it replays its WAL, asks
// the register, recording abort if nothing is recorded: whichever outcome
// is recorded first wins, so every owner applies the same one.

// Decider is the outcome register of split ingests (catalog.Decisions).
type Decider interface {
	Decide(ctx context.Context, id string, commit bool, ttl time.Duration) (bool, error)
	// CommitAdoption and Adopted record and read that a node's prepared
	// part is in files another node wrote from its shipped WAL (Adopt).
	CommitAdoption(ctx context.Context, table, node string, files []catalog.File, flushedLSN uint64, ids []string, ttl time.Duration) error
	Adopted(ctx context.Context, id, node string) (bool, error)
}

// Prepare makes the staged rows durable as this node's part of the split
// ingest gid and holds them, invisible, until Resolve or the timeout. A
// replace is never split; a part without rows needs nothing.
func (st *Staged) Prepare(ctx context.Context, gid string) error {
	s := st.s
	if s.cfg.Decisions == nil || st.replace {
		st.Abort()
		return fmt.Errorf("%w: table %q: this node cannot take part in a split ingest (no outcome register, or a replace)", ErrInvalid, st.ts.name)
	}
	if len(st.t.batches) == 0 {
		s.endTxn(st.t)
		return nil
	}
	p, err := s.wal.Append(encodePrepare(st.t.id, st.ts.name, gid, st.inc))
	if err == nil {
		err = p.Wait(context.WithoutCancel(ctx))
	}
	if err != nil {
		st.Abort()
		return walErr(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.prepared[gid]; dup || s.closed {
		s.wal.Append(encodeAbort(st.t.id, st.ts.name))
		s.abortLocked(st.t)
		if dup {
			return fmt.Errorf("%w: split ingest %s is prepared already on this node", ErrInvalid, gid)
		}
		return ErrClosed
	}
	st.gid = gid
	s.prepared[gid] = st
	st.timer = time.AfterFunc(s.cfg.PrepareTimeout, func() { s.resolveLate(gid, st) })
	return nil
}

// Resolve applies the outcome of the split ingest gid to this node's
// prepared part: commit makes its rows visible, abort forgets them. An
// unknown gid is no error: its part had no rows, or was resolved already
// (by the timeout or at start-up) from the same register.
func (s *Service) Resolve(ctx context.Context, gid string, commit bool) error {
	s.mu.Lock()
	st := s.prepared[gid]
	delete(s.prepared, gid)
	s.mu.Unlock()
	if st == nil {
		return nil
	}
	st.timer.Stop()
	return st.finish(ctx, commit)
}

// resolveLate asks the register for the outcome of a part nobody resolved
// in time, recording abort if there is none yet.
func (s *Service) resolveLate(gid string, st *Staged) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	commit, err := s.cfg.Decisions.Decide(ctx, gid, false, s.cfg.DecisionTTL)
	s.mu.Lock()
	if s.prepared[gid] != st {
		s.mu.Unlock()
		return // resolved meanwhile
	}
	if err != nil {
		if !s.closed {
			st.timer.Reset(s.cfg.PrepareTimeout)
		}
		s.mu.Unlock()
		s.log.Warn("could not read the outcome of a prepared split ingest; asking again later", zap.String("id", gid), zap.Error(err))
		return
	}
	delete(s.prepared, gid)
	s.mu.Unlock()
	s.log.Info("split ingest resolved after its timeout", zap.String("id", gid), zap.Bool("commit", commit))
	if err := st.finish(ctx, commit); err != nil {
		s.log.Error("apply the outcome of a split ingest", zap.String("id", gid), zap.Bool("commit", commit), zap.Error(err))
	}
}

// finish commits or aborts a prepared part. A commit of rows received for
// an earlier life of the table (replaced on this node since) adds nothing.
func (st *Staged) finish(ctx context.Context, commit bool) error {
	s := st.s
	if commit && s.cfg.ShipWAL && st.gid != "" {
		// Another node may have replayed this part from the shipped WAL
		// while this node was taken for dead.
		adopted, err := s.cfg.Decisions.Adopted(ctx, st.gid, s.cfg.NodeID)
		if err != nil {
			return fmt.Errorf("split ingest %s: %w", st.gid, err)
		}
		if adopted {
			s.log.Warn("a prepared part was adopted by another node meanwhile; not committing it here", zap.String("id", st.gid))
			commit = false
		}
	}
	if commit {
		st.ts.mu.Lock()
		cur := st.ts.incarnation
		st.ts.mu.Unlock()
		if cur == st.inc || st.inc == "" {
			return s.commitAppend(ctx, st.ts, st.t)
		}
		s.log.Warn("a committed split ingest belongs to a replaced table; its rows are not added", zap.String("table", st.ts.name))
	}
	// Best effort: without the ABORT a replay asks the register, which
	// says abort too.
	s.wal.Append(encodeAbort(st.t.id, st.ts.name))
	st.Abort()
	if commit {
		return fmt.Errorf("%w: %q was replaced during the ingest; nothing was added", ErrConflict, st.ts.name)
	}
	return nil
}

// releasePrepared forgets the prepared parts at Close; their PREPARE
// records are resolved by the next start's replay.
func (s *Service) releasePrepared() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for gid, st := range s.prepared {
		st.timer.Stop()
		s.abortLocked(st.t)
		delete(s.prepared, gid)
	}
}

// resolveAtStart applies the outcome of a part the WAL holds prepared,
// asking the register (and recording abort if it has no outcome).
func (s *Service) resolveAtStart(ctx context.Context, t *txn) error {
	if s.cfg.Decisions == nil {
		releaseAll(t.batches)
		return fmt.Errorf("the write-ahead log holds a prepared part of split ingest %s, but this node has no outcome register (a shared catalog)", t.gid)
	}
	commit, err := s.cfg.Decisions.Decide(ctx, t.gid, false, s.cfg.DecisionTTL)
	if err != nil {
		releaseAll(t.batches)
		return fmt.Errorf("outcome of split ingest %s: %w", t.gid, err)
	}
	ts := s.table(t.table)
	if ts == nil {
		releaseAll(t.batches)
		return nil // dropped since
	}
	for _, b := range t.batches {
		t.bytes += BatchBytes(b)
	}
	s.buffered.Add(t.bytes)
	st := &Staged{s: s, ts: ts, t: t, inc: t.inc, gid: t.gid}
	err = st.finish(ctx, commit)
	s.log.Info("prepared split ingest resolved at start-up", zap.String("id", t.gid), zap.Bool("commit", commit), zap.Int64("rows", t.rows), zap.Error(err))
	if commit && err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	return nil
}

// preparedCount is the number of parts waiting for their outcome.
func (s *Service) preparedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.prepared)
}
