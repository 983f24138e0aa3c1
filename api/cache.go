package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// A scan must be fast on a busy day, and a batch's history only changes
// when an event is appended or a new checkpoint is published. So each
// representation of a history — the JSON and the page per language and
// query — is built, verified and compressed once per state and then served
// from memory. The state is the batch's head (length and hash) and the
// published checkpoint (size and note length, which grows only as
// cosignatures are added); both are read from the store on every request,
// so nothing stale is ever served.

// maxCachedBatches bounds the cache; past it, entries are dropped.
const maxCachedBatches = 4096

// maxVariants bounds the pages kept per batch (languages × query strings).
const maxVariants = 16

type historyState struct {
	n        uint64
	head     trace.Hash
	cpSize   uint64
	cpLength int
	recalls  uint64 // recall events anywhere: a recall upstream changes this lot's page
	records  uint64 // registry revisions anywhere: a renamed product changes its lots' pages
}

type cachedHistory struct {
	state historyState
	h     *History
	json  encoded
	mu    sync.Mutex
	pages map[string]encoded // by language and raw query
}

// encoded is a body and its gzip form.
type encoded struct{ plain, gz []byte }

func encode(b []byte) encoded {
	var buf bytes.Buffer
	// Compressed once per state and served many times: spend the time.
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return encoded{plain: b, gz: buf.Bytes()}
}

type historyCache struct {
	mu sync.Mutex
	m  map[string]*cachedHistory
}

// state reads what a batch's cached representations depend on.
func (s *Server) historyState(batchID string) (historyState, error) {
	var st historyState
	err := s.db.ViewLog(func(v *store.LogView) error {
		var err error
		if st.n, st.head, err = v.Head(batchID); err != nil {
			return err
		}
		size, note := s.PublishedCheckpoint(v)
		st.cpSize, st.cpLength = size, len(note)
		st.recalls = v.RecallCount()
		st.records = v.RecordGeneration()
		return nil
	})
	return st, err
}

// cachedHistory returns the verified history of a batch, from the cache
// when its state has not changed.
func (s *Server) cachedHistory(bt *trace.Batch) (*cachedHistory, error) {
	st, err := s.historyState(bt.ID)
	if err != nil {
		return nil, err
	}
	s.cache.mu.Lock()
	e := s.cache.m[bt.ID]
	s.cache.mu.Unlock()
	if e != nil && e.state == st {
		return e, nil
	}
	h, err := s.history(bt)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	// The history read may be newer than the state read before it; key
	// it by what it holds, so the next request rebuilds if they differ.
	st.n = h.Batch.Events
	e = &cachedHistory{state: st, h: h, json: encode(append(b, '\n')), pages: map[string]encoded{}}
	s.cache.mu.Lock()
	if s.cache.m == nil || len(s.cache.m) >= maxCachedBatches {
		s.cache.m = map[string]*cachedHistory{}
	}
	s.cache.m[bt.ID] = e
	s.cache.mu.Unlock()
	return e, nil
}

// page returns the rendered page of a cached history.
func (s *Server) page(c echo.Context, e *cachedHistory, cat *Catalog) (encoded, error) {
	key := cat.Lang + "?" + c.Request().URL.RawQuery
	e.mu.Lock()
	p, ok := e.pages[key]
	e.mu.Unlock()
	if ok {
		return p, nil
	}
	b, err := s.batchPageBytes(c, e.h, cat, nil)
	if err != nil {
		return encoded{}, err
	}
	p = encode(b)
	e.mu.Lock()
	if len(e.pages) >= maxVariants {
		e.pages = map[string]encoded{}
	}
	e.pages[key] = p
	e.mu.Unlock()
	return p, nil
}

// blob writes a cached body, compressed when the client takes gzip.
func blob(c echo.Context, contentType string, body encoded) error {
	h := c.Response().Header()
	h.Add("Vary", "Accept-Encoding")
	if strings.Contains(c.Request().Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		return c.Blob(http.StatusOK, contentType, body.gz)
	}
	return c.Blob(http.StatusOK, contentType, body.plain)
}

// servesHistory reports whether a request's route answers with a cached
// history, whose bodies the cache compresses itself.
func servesHistory(c echo.Context) bool {
	switch c.Path() {
	case "/01/*", shortLinkRoute, "/api/v1/batches/:id":
		return true
	}
	return false
}

// batchByLot finds a batch by GTIN and lot, remembering the answer: a
// batch's identity never changes once created.
func (s *Server) batchByLot(gtin14, lot string) (*trace.Batch, error) {
	key := gtin14 + "/" + lot
	if b, ok := s.lots.Load(key); ok {
		return b.(*trace.Batch), nil
	}
	b, err := s.db.BatchByLot(gtin14, lot)
	if err != nil {
		return nil, err
	}
	s.lots.Store(key, b)
	return b, nil
}
