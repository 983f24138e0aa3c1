package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// A scan must be fast on a busy day, and a batch's history only changes
// when an event is appended, a registry record or a recall is written, or
// a new checkpoint is published. So each representation of a history —
// the JSON and the page per language and query — is built, verified and
// compressed once per state and then served from memory, with a strong
// ETag of that state, so a phone or a CDN revalidates it with a 304.
//
// The state is the batch's head (length and hash), the published
// checkpoint (size and note length, which grows only as cosignatures are
// added), the count of recalls anywhere (a recall upstream changes this
// lot's page) and of registry revisions (a renamed product changes its
// lots' pages). Reading it takes a transaction; the store's generation
// (store.DB.Generation) says without one whether anything at all changed
// since the state was last read, so a scan while nothing is written costs
// no transaction. When a chain grew, only its new events are read and
// verified.

// maxCachedBatches bounds the cache; past it, entries are dropped.
const maxCachedBatches = 4096

// maxVariants bounds the pages kept per batch (languages × query strings).
const maxVariants = 16

// historyCacheControl lets a browser or a CDN keep a scanned history for a
// minute and serve it while it revalidates for a few more: a new event or
// a recall reaches the next scan within about a minute, and a busy label
// costs the service one revalidation a minute per edge.
const historyCacheControl = "public, max-age=60, stale-while-revalidate=300"

type historyState struct {
	n        uint64
	head     trace.Hash
	cpSize   uint64
	cpLength int
	recalls  uint64
	records  uint64
	// today: a page says which certificates have expired since, and a
	// lot with no date of its own lists those valid today.
	today string
}

// etag is the strong validator of one representation of a state.
func (st historyState) etag(batchID, variant string) string {
	h := sha256.New()
	h.Write([]byte(batchID + "\x00" + variant + "\x00" + st.today + "\x00"))
	h.Write(st.head[:])
	var b [40]byte
	binary.BigEndian.PutUint64(b[0:], st.n)
	binary.BigEndian.PutUint64(b[8:], st.cpSize)
	binary.BigEndian.PutUint64(b[16:], uint64(st.cpLength))
	binary.BigEndian.PutUint64(b[24:], st.recalls)
	binary.BigEndian.PutUint64(b[32:], st.records)
	h.Write(b[:])
	return `"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
}

type cachedHistory struct {
	batch  string
	state  historyState
	gen    atomic.Uint64 // the store's generation when state was last confirmed
	h      *History
	events []*store.StoredEvent // verified, for a rebuild that reads only what is new
	json   encoded
	mu     sync.Mutex
	pages  map[string]encoded // by language and raw query
}

// encoded is a body, its gzip form (nil when compressing does not pay),
// and their ETags.
type encoded struct {
	plain, gz       []byte
	etag, etagGzip  string
	cacheControl    string
	contentEncoding string
}

func encode(b []byte, etag string) encoded {
	e := encoded{plain: b, etag: etag, cacheControl: historyCacheControl}
	if len(b) < minCompress {
		return e
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(b)
	zw.Close()
	if buf.Len() < len(b) {
		e.gz = buf.Bytes()
		// Another coding is another representation: its own validator.
		e.etagGzip = strings.TrimSuffix(etag, `"`) + `-gz"`
	}
	return e
}

// minCompress is the smallest body worth compressing: below it, the
// header and the work cost more than they save.
const minCompress = 1024

type historyCache struct {
	mu sync.Mutex
	m  map[string]*cachedHistory
}

// historyState reads what a batch's cached representations depend on.
func (s *Server) historyState(batchID string) (historyState, error) {
	st := historyState{today: s.Today()}
	err := s.db.ViewLog(func(v store.LogView) error {
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
	gen := s.db.Generation()
	s.cache.mu.Lock()
	e := s.cache.m[bt.ID]
	s.cache.mu.Unlock()
	if e != nil && e.gen.Load() == gen && e.state.today == s.Today() {
		return e, nil
	}
	st, err := s.historyState(bt.ID)
	if err != nil {
		return nil, err
	}
	if e != nil && e.state == st {
		e.gen.Store(gen)
		return e, nil
	}
	h, events, err := s.history(bt.ID, e)
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
	st.head, _ = trace.ParseHash(h.Batch.Head)
	e = &cachedHistory{batch: bt.ID, state: st, h: h, events: events, pages: map[string]encoded{}}
	e.json = encode(append(b, '\n'), st.etag(bt.ID, "json"))
	e.gen.Store(gen)
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
	b, err := s.batchPageBytes(c, e.h, e.events, e.json.plain, cat, nil)
	if err != nil {
		return encoded{}, err
	}
	p = encode(b, e.state.etag(e.batch, "page "+key))
	e.mu.Lock()
	if len(e.pages) >= maxVariants {
		e.pages = map[string]encoded{}
	}
	e.pages[key] = p
	e.mu.Unlock()
	return p, nil
}

// blob writes a cached body — compressed when the client takes gzip and
// compressing paid — with its length, its ETag and how long it may be
// kept, or 304 when the client already has it.
func blob(c echo.Context, contentType string, body encoded) error {
	h := c.Response().Header()
	gz := body.gz != nil && acceptsGzip(c.Request().Header.Get("Accept-Encoding"))
	data, etag := body.plain, body.etag
	if gz {
		data, etag = body.gz, body.etagGzip
	}
	// The keys are written in their canonical form, without a lookup.
	h["Etag"] = []string{etag}
	h["Cache-Control"] = []string{body.cacheControl}
	if matchesETag(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	if gz {
		h["Content-Encoding"] = gzipValue
	}
	h["Content-Length"] = []string{strconv.Itoa(len(data))}
	h["Content-Type"] = []string{contentType}
	c.Response().WriteHeader(http.StatusOK)
	_, err := c.Response().Write(data)
	return err
}

var gzipValue = []string{"gzip"}

// acceptsGzip reads Accept-Encoding for gzip with a non-zero quality.
func acceptsGzip(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		coding, q := parseQ(part)
		if (strings.EqualFold(coding, "gzip") || coding == "*") && q > 0 {
			return true
		}
	}
	return false
}

// matchesETag reports whether an If-None-Match header names etag (weak
// comparison, RFC 9110 §13.1.2).
func matchesETag(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// servesHistory reports whether a request's route answers with a cached
// history, whose bodies the cache compresses itself.
func servesHistory(c echo.Context) bool {
	switch c.Path() {
	case "/api/v1/batches/:id", shortLinkRoute:
		return true
	}
	return isResolverPath(c.Request().URL.Path)
}

// batchByLot finds a batch by GTIN and lot, remembering its id: a lot is
// the same batch for good. The batch itself is read again when its
// history is rebuilt (its facts may be restated).
// cachedBatch reports whether a batch's history is in the cache (so the
// batch exists: batches are never deleted).
func (s *Server) cachedBatch(id string) bool {
	s.cache.mu.Lock()
	_, ok := s.cache.m[id]
	s.cache.mu.Unlock()
	return ok
}

func (s *Server) batchByLot(gtin14, lot string) (*trace.Batch, error) {
	key := gtin14 + "/" + lot
	if id, ok := s.lots.Load(key); ok {
		return &trace.Batch{ID: id.(string)}, nil
	}
	b, err := s.db.BatchByLot(gtin14, lot)
	if err != nil {
		return nil, err
	}
	s.lots.Store(key, b.ID)
	return b, nil
}

// resolvedLink is the lot a Digital Link named, and the serial it carried.
type resolvedLink struct{ batch, serial string }

// linkCache remembers the lots that Digital Links named, by the links'
// exact text. Lots are never deleted, so an entry never goes stale; the
// cache forgets everything when it reaches maxCachedLinks, so links made
// up by the million (another serial, another query each time) cannot
// fill the memory.
type linkCache struct {
	m atomic.Pointer[sync.Map]
	n atomic.Int64
}

const maxCachedLinks = 50_000

func (lc *linkCache) get(key string) (resolvedLink, bool) {
	m := lc.m.Load()
	if m == nil {
		return resolvedLink{}, false
	}
	v, ok := m.Load(key)
	if !ok {
		return resolvedLink{}, false
	}
	return v.(resolvedLink), true
}

func (lc *linkCache) put(key string, l resolvedLink) {
	m := lc.m.Load()
	if m == nil || lc.n.Add(1) > maxCachedLinks {
		m = &sync.Map{}
		lc.m.Store(m)
		lc.n.Store(1)
	}
	m.Store(key, l)
}
