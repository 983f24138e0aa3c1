package api

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// backupPath is the admin's route to a copy of the data file.
const backupPath = "/api/v1/admin/backup"

func isBackup(c echo.Context) bool { return c.Path() == backupPath }

// backup serves GET /api/v1/admin/backup: a consistent copy of the whole
// data file, as `truyxuat backup --server` fetches it. The copy is first
// written to a temporary file beside the data file, at the disk's pace in
// one read transaction, and then sent at the client's pace, with its
// length and its SHA-256 as an RFC 9530 Content-Digest for the client to
// check. One backup is made at a time.
func (s *Server) backup(c echo.Context) error {
	if !s.backupMu.TryLock() {
		return echo.NewHTTPError(http.StatusConflict, "another backup is being made; try again when it is done")
	}
	defer s.backupMu.Unlock()
	start := time.Now()
	snap, err := s.db.Snapshot()
	if err != nil {
		return err
	}
	defer snap.Close()
	// The server's write timeout is for ordinary answers: give the copy an
	// hour, and a second more for every MiB.
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(time.Hour + time.Duration(snap.Size>>20)*time.Second))
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, echo.MIMEOctetStream)
	h.Set(echo.HeaderContentLength, strconv.FormatInt(snap.Size, 10))
	h.Set(echo.HeaderContentDisposition, `attachment; filename="truyxuat-`+start.UTC().Format("20060102T150405Z")+`.db"`)
	h.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(snap.SHA256[:])+":")
	h.Set(echo.HeaderCacheControl, "no-store")
	c.Response().WriteHeader(http.StatusOK)
	n, err := io.Copy(c.Response(), snap)
	if err != nil {
		return err
	}
	key := caller(c)
	s.log.Info("backup sent", "bytes", n, "key_id", key.ID, "duration", time.Since(start))
	return nil
}
