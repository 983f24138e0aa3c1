package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// Scans: every time a browser opens a lot's page through its label, the
// lot's count for the day goes up by one, and the serial's when the label
// carries one. Nothing about who scanned is kept — no address, no cookie,
// no device. Counts gather in memory and reach the store at most every
// scanFlushEvery (and when the service stops), so a scan costs no write.

// scanFlushEvery is how often gathered counts are written.
const scanFlushEvery = 10 * time.Second

// CopiedLabelScans is how many scans of one serialised label make it
// suspect: a single pack is scanned a few times, a label copied onto many
// packs far more often.
const CopiedLabelScans = 20

type scanCounter struct {
	counts    map[store.ScanKey]uint64
	lastFlush time.Time
	flushing  bool
}

// countScan counts a scan of a lot's page (a browser's GET of the page,
// not a JSON read).
func (s *Server) countScan(c echo.Context, batchID, serial string) {
	if c.Request().Method != http.MethodGet || len(serial) > store.MaxSerialLen {
		return
	}
	now := s.now()
	k := store.ScanKey{Batch: batchID, Day: now.In(s.cfg.Location).Format("20060102"), Serial: serial}
	s.scanMu.Lock()
	if s.scans.counts == nil {
		s.scans.counts = map[store.ScanKey]uint64{}
		s.scans.lastFlush = now
	}
	s.scans.counts[k]++
	due := !s.scans.flushing && now.Sub(s.scans.lastFlush) >= scanFlushEvery
	if due {
		s.scans.flushing = true
	}
	s.scanMu.Unlock()
	if due {
		go s.FlushScans()
	}
}

// FlushScans writes the counts gathered so far (the service calls it when
// it stops). Counts that cannot be written (a read-only store) are kept
// for the next try.
func (s *Server) FlushScans() {
	s.scanMu.Lock()
	counts := s.scans.counts
	s.scans.counts = nil
	s.scanMu.Unlock()
	err := s.db.AddScans(counts)
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	s.scans.flushing, s.scans.lastFlush = false, s.now()
	if err != nil {
		if !errors.Is(err, store.ErrReadOnly) {
			s.log.Error("scan counts not written; kept for the next try", "error", err)
		}
		if s.scans.counts == nil {
			s.scans.counts = map[store.ScanKey]uint64{}
		}
		for k, n := range counts {
			s.scans.counts[k] += n
		}
	}
}

// Scans is GET /api/v1/batches/{id}/scans: how often a lot's labels were
// scanned, per day and per serial, with the serials scanned far more often
// than a single pack would be.
type Scans struct {
	Total   uint64        `json:"total"`
	Days    []DayScans    `json:"days"`
	Serials []SerialScans `json:"serials"`
}

// DayScans is the scans of a lot on one day.
type DayScans struct {
	Day   string `json:"day"`
	Count uint64 `json:"count"`
}

// SerialScans is the scans of one serialised label.
type SerialScans struct {
	Serial string `json:"serial"`
	Count  uint64 `json:"count"`
	First  string `json:"first"`
	Last   string `json:"last"`
	// Suspect marks a label scanned far more often than one pack would
	// be: perhaps copied onto many.
	Suspect bool `json:"suspect"`
}

// LotScans returns a lot's scan counts, those not yet written included.
func (s *Server) LotScans(batchID string) (*Scans, error) {
	s.FlushScans()
	ls, err := s.db.Scans(batchID)
	if err != nil {
		return nil, err
	}
	out := &Scans{Total: ls.Total, Days: []DayScans{}, Serials: []SerialScans{}}
	for _, d := range ls.Days {
		out.Days = append(out.Days, DayScans{Day: d.Day, Count: d.Count})
	}
	for _, sc := range ls.Serials {
		out.Serials = append(out.Serials, SerialScans{Serial: sc.Serial, Count: sc.Count, First: sc.First, Last: sc.Last,
			Suspect: sc.Count >= CopiedLabelScans})
	}
	return out, nil
}

func (s *Server) getScans(c echo.Context) error {
	bt, err := s.db.Batch(c.Param("id"))
	if err != nil {
		return err
	}
	if k := caller(c); k.Role == store.RoleCooperative && k.CooperativeID != bt.CooperativeID {
		return fmt.Errorf("this key reads the scans of cooperative %s only: %w", k.CooperativeID, trace.ErrForbidden)
	}
	out, err := s.LotScans(bt.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
