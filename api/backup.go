package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
	"github.com/miniodb/miniodb/auth"
	"github.com/miniodb/miniodb/backup"
)

// Backups is the node's metadata backup service (a *backup.Service).
type Backups interface {
	Create(ctx context.Context, opts backup.CreateOptions) (backup.Manifest, error)
	List(ctx context.Context) ([]backup.Manifest, error)
	Validate(ctx context.Context, name string) (backup.Validation, error)
	Restore(ctx context.Context, opts backup.RestoreOptions) (backup.RestoreResult, error)
	Status(ctx context.Context) (backup.Status, error)
}

// DataBackups copies table objects to the backup bucket and recovers them
// (a *backup.DataBackup).
type DataBackups interface {
	Pass(ctx context.Context, opts backup.PassOptions) (backup.DataResult, error)
	Recover(ctx context.Context, opts backup.RecoverOptions) (backup.RecoverResult, error)
}

// errUnimplementedDataBackup answers a data backup or recovery on a node
// without a backup endpoint.
var errUnimplementedDataBackup = status.Error(codes.Unimplemented,
	"data backup and recovery are not available on this node: configure a backup endpoint (backup.minio); nothing was copied or restored. "+
		"Metadata backups are: TriggerBackup with no table, day or id, /v1/metadata/*, `miniodb backup`")

// TriggerBackup with no table, day or id takes a metadata backup (a
// snapshot of the whole catalog) and, with a backup endpoint, copies the
// objects of every backup_enabled table not yet copied; with a table, a
// day and/or an id it copies the objects they select (the table's
// objects, of that day, that may hold a row with that id by their id
// stats) that the backup bucket lacks.
func (s *Service) TriggerBackup(ctx context.Context, req *olapv1.TriggerBackupRequest) (*olapv1.TriggerBackupResponse, error) {
	if s.d.Backups == nil {
		return nil, errUnimplementedBackup
	}
	if err := authStatus(auth.CheckAdmin(ctx, s.d.Auth, "backup")); err != nil {
		return nil, err
	}
	if req.GetTable() != "" || req.GetDay() != "" || req.GetId() != "" {
		if s.d.Data == nil {
			return nil, errUnimplementedDataBackup
		}
		opts := backup.PassOptions{Table: req.GetTable(), Day: req.GetDay(), ID: req.GetId()}
		res, err := s.d.Data.Pass(ctx, opts)
		if err != nil {
			return nil, backupError(err)
		}
		return &olapv1.TriggerBackupResponse{Success: true, FilesBackedUp: int32(res.Copied), Message: passMessage(opts, res)}, nil
	}
	m, err := s.d.Backups.Create(ctx, backup.CreateOptions{Description: "TriggerBackup"})
	if err != nil {
		return nil, backupError(err)
	}
	msg := fmt.Sprintf("metadata backup %s: %d tables, %d file entries, %d rows (sha256 %s)", m.Name, m.Tables, m.Files, m.Rows, m.SHA256)
	var copied int
	if s.d.Data != nil {
		res, err := s.d.Data.Pass(ctx, backup.PassOptions{})
		if err != nil {
			return nil, backupError(fmt.Errorf("%s written; data backup: %w", msg, err))
		}
		copied = res.Copied
		msg += fmt.Sprintf("; %d objects copied to the backup bucket", copied)
	}
	return &olapv1.TriggerBackupResponse{Success: true, Message: msg, FilesBackedUp: int32(copied)}, nil
}

// passMessage says what a filtered data backup pass did.
func passMessage(opts backup.PassOptions, res backup.DataResult) string {
	var sel []string
	if opts.Table != "" {
		sel = append(sel, "table "+opts.Table)
	}
	if opts.Day != "" {
		sel = append(sel, "day "+opts.Day)
	}
	if opts.ID != "" {
		sel = append(sel, "id "+opts.ID)
	}
	msg := fmt.Sprintf("%d objects copied to the backup bucket (%s: %d objects selected, the others were backed up already)",
		res.Copied, strings.Join(sel, ", "), res.Selected)
	if opts.ID != "" {
		msg += "; rows with that id still in the buffer are backed up after their flush"
	}
	return msg
}

// RecoverData brings back, from the backup bucket, the rows a table lost
// (backup.DataBackup.Recover): those of its backed-up objects the catalog
// no longer references, of the days in time_range (all days without
// one), with the ids of id_range (ids and/or id_pattern) or
// time_range.ids when given, that the table does not hold. On the running
// node; queries see them at once. Idempotent.
func (s *Service) RecoverData(ctx context.Context, req *olapv1.RecoverDataRequest) (*olapv1.RecoverDataResponse, error) {
	if s.d.Backups == nil {
		return nil, errUnimplementedBackup
	}
	if err := authStatus(auth.CheckAdmin(ctx, s.d.Auth, "recover data")); err != nil {
		return nil, err
	}
	if s.d.Data == nil {
		return nil, errUnimplementedDataBackup
	}
	if req.GetTable() == "" {
		return nil, invalidf("table is empty: name the table to recover")
	}
	tr := req.GetTimeRange()
	opts := backup.RecoverOptions{Table: req.GetTable(), FromDay: tr.GetStartDate(), ToDay: tr.GetEndDate(), IDs: tr.GetIds()}
	if ir := req.GetIdRange(); ir != nil {
		if len(ir.GetIds()) == 0 && ir.GetIdPattern() == "" {
			return nil, invalidf("id_range of table %s has no ids and no id_pattern: name the ids to recover", req.GetTable())
		}
		opts.ByID, opts.IDs, opts.IDPattern = true, ir.GetIds(), ir.GetIdPattern()
	}
	res, err := s.d.Data.Recover(ctx, opts)
	if err != nil {
		return nil, backupError(err)
	}
	return &olapv1.RecoverDataResponse{Success: true, RecoveredKeys: res.Keys,
		Message: fmt.Sprintf("%d objects (%d rows) recovered into %s", len(res.Keys), res.Rows, req.GetTable())}, nil
}

// backupError maps the backup service's errors to gRPC codes.
func backupError(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, backup.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, backup.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, backup.ErrNotEmpty):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, backup.ErrLocked):
		return status.Error(codes.Aborted, err.Error())
	case errors.Is(err, backup.ErrCorrupt):
		return status.Error(codes.DataLoss, err.Error())
	}
	return toStatus(err)
}

// metadataRoutes are the seed's /v1/metadata/* endpoints (without a
// backup service they answer 501) and the REST mapping of TriggerBackup
// and RecoverData, /v1/backup/trigger and /v1/backup/recover, whose
// bodies and answers are their messages in JSON.
func (s *Service) metadataRoutes() []route {
	h := func(f func(w http.ResponseWriter, r *http.Request) error) func(w http.ResponseWriter, r *http.Request) error {
		if s.d.Backups == nil {
			return unimplemented
		}
		return f
	}
	return []route{
		{"POST", "/v1/metadata/backup", "metadata_backup", false, h(s.restMetadataBackup)},
		{"GET", "/v1/metadata/backups", "metadata_backups", false, h(s.restMetadataBackups)},
		{"POST", "/v1/metadata/recover", "metadata_recover", false, h(s.restMetadataRecover)},
		{"GET", "/v1/metadata/status", "metadata_status", false, h(s.restMetadataStatus)},
		{"POST", "/v1/metadata/validate", "metadata_validate", false, h(s.restMetadataValidate)},
		{"POST", "/v1/backup/trigger", "trigger_backup", false, s.restTriggerBackup},
		{"POST", "/v1/backup/recover", "recover_data", false, s.restRecoverData},
	}
}

func (s *Service) restTriggerBackup(w http.ResponseWriter, r *http.Request) error {
	var req olapv1.TriggerBackupRequest
	if err := s.readProto(w, r, &req); err != nil {
		return err
	}
	res, err := s.TriggerBackup(r.Context(), &req)
	if err != nil {
		return err
	}
	return writeProto(w, res)
}

func (s *Service) restRecoverData(w http.ResponseWriter, r *http.Request) error {
	var req olapv1.RecoverDataRequest
	if err := s.readProto(w, r, &req); err != nil {
		return err
	}
	res, err := s.RecoverData(r.Context(), &req)
	if err != nil {
		return err
	}
	return writeProto(w, res)
}

// readBody decodes a JSON body into v, refusing unknown fields; an empty
// body leaves v alone.
func (s *Service) readBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.d.Telemetry.cfg.MaxRequestBytes))
	if err != nil {
		return bodyErr(err)
	}
	if strings.TrimSpace(string(body)) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidf("request body: %v", err)
	}
	return nil
}

func writeAny(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Service) restMetadataBackup(w http.ResponseWriter, r *http.Request) error {
	var opts backup.CreateOptions
	if err := s.readBody(w, r, &opts); err != nil {
		return err
	}
	m, err := s.d.Backups.Create(r.Context(), opts)
	if err != nil {
		return backupError(err)
	}
	return writeAny(w, map[string]any{"success": true, "backup_file": m.Name + ".json", "message": "metadata backup " + m.Name + " written", "backup": m})
}

func (s *Service) restMetadataBackups(w http.ResponseWriter, r *http.Request) error {
	all, err := s.d.Backups.List(r.Context())
	if err != nil {
		return backupError(err)
	}
	return writeAny(w, map[string]any{"backups": all, "total": len(all)})
}

// recoverRequest is the seed's recover body plus dry_run.
type recoverRequest struct {
	BackupFile     string `json:"backup_file"`
	Mode           string `json:"mode"`
	DryRun         bool   `json:"dry_run"`
	ForceOverwrite bool   `json:"force_overwrite"`
	BackupCurrent  bool   `json:"backup_current"`
}

// restMetadataRecover plans a restore. A running node has loaded the
// catalog and keeps its own view of it, so only a dry run is done here;
// the restore itself is `miniodb backup restore` with the nodes stopped.
func (s *Service) restMetadataRecover(w http.ResponseWriter, r *http.Request) error {
	var req recoverRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	if req.BackupFile == "" {
		return invalidf("backup_file is empty; GET /v1/metadata/backups lists them")
	}
	opts := backup.RestoreOptions{Name: req.BackupFile, Mode: req.Mode, DryRun: req.DryRun, ForceOverwrite: req.ForceOverwrite, BackupCurrent: req.BackupCurrent}
	dry := opts.DryRun || opts.Mode == backup.ModeDryRun || opts.Mode == "dry-run"
	opts.DryRun = true
	res, err := s.d.Backups.Restore(r.Context(), opts)
	if err != nil {
		return backupError(err)
	}
	if !dry {
		return status.Errorf(codes.FailedPrecondition, "a restore rewrites the catalog that running nodes have loaded: stop every node, "+
			"then run `miniodb backup restore %s --mode %s` with their configuration (nothing was changed; dry_run shows the plan: "+
			"%d tables created, %d replaced, %d dropped, %d skipped)", res.Name, res.Mode, len(res.Created), len(res.Replaced), len(res.Dropped), len(res.Skipped))
	}
	return writeAny(w, map[string]any{"success": true, "message": "dry run: nothing was changed", "result": res})
}

func (s *Service) restMetadataStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := s.d.Backups.Status(r.Context())
	if err != nil {
		return backupError(err)
	}
	return writeAny(w, st)
}

func (s *Service) restMetadataValidate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		BackupFile string `json:"backup_file"`
	}
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	if req.BackupFile == "" {
		return invalidf("backup_file is empty; GET /v1/metadata/backups lists them")
	}
	v, err := s.d.Backups.Validate(r.Context(), req.BackupFile)
	if err != nil {
		return backupError(err)
	}
	return writeAny(w, v)
}
