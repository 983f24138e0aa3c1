package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// Where the file keeps events (schema version 2):
//
//	eventlog    uint64 log index → event record
//	chains      batch id → uint64 length ‖ head hash (the batch's head)
//	            batch id ‖ 0x00 ‖ uint32 segment → log indexes of events
//	            segment·64 … segment·64+63 of its chain, as uvarints
//	eventindex  event hash → uint64 log index
//	signers     "n" ‖ uint64 number → public key; "k" ‖ public key → number
//
// Events are keyed by their index in the transparency log, so new ones
// always come last and the bucket's pages are written in order and split
// full. A batch's chain is found through its segments, which sit beside
// its head: an append changes one page of chains for both. An event record
// names its signer by a number of the signers table instead of its key.
var (
	bucketEvents    = []byte("eventlog")
	bucketChains    = []byte("chains")
	bucketEventHash = []byte("eventindex")
	bucketSigners   = []byte("signers")
)

func init() {
	allBuckets = append(allBuckets, bucketEvents, bucketChains, bucketEventHash, bucketSigners)
}

// chainSegment is how many log indexes one segment of a chain holds.
const chainSegment = 64

func chainSegKey(batchID string, seg uint64) []byte {
	k := make([]byte, 0, len(batchID)+5)
	k = append(k, batchID...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(seg))
}

// decodeSegment returns a segment's log indexes.
func decodeSegment(v []byte) ([]uint64, error) {
	out := make([]uint64, 0, chainSegment)
	for len(v) > 0 {
		n, k := binary.Uvarint(v)
		if k <= 0 {
			return nil, errors.New("a chain segment is truncated")
		}
		out = append(out, n)
		v = v[k:]
	}
	if len(out) > chainSegment {
		return nil, fmt.Errorf("a chain segment holds %d events, more than %d", len(out), chainSegment)
	}
	return out, nil
}

// chainIndex returns the log index of event seq of a batch's chain.
func chainIndex(tx *bolt.Tx, batchID string, seq uint64) (uint64, bool) {
	idx, err := decodeSegment(tx.Bucket(bucketChains).Get(chainSegKey(batchID, seq/chainSegment)))
	if err != nil || int(seq%chainSegment) >= len(idx) {
		return 0, false
	}
	return idx[seq%chainSegment], true
}

// eachInChain calls f with the number and log index of each event of a
// batch's chain from number from on, in order.
func eachInChain(tx *bolt.Tx, batchID string, from uint64, f func(seq, index uint64) error) error {
	prefix := append([]byte(batchID), 0)
	c := tx.Bucket(bucketChains).Cursor()
	for k, v := c.Seek(chainSegKey(batchID, from/chainSegment)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+4 {
			return fmt.Errorf("a chain segment key of batch %s has %d bytes", batchID, len(k))
		}
		seg := uint64(binary.BigEndian.Uint32(k[len(prefix):]))
		idx, err := decodeSegment(v)
		if err != nil {
			return fmt.Errorf("batch %s, segment %d: %w", batchID, seg, err)
		}
		for i, index := range idx {
			if seq := seg*chainSegment + uint64(i); seq >= from {
				if err := f(seq, index); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// lastInChain returns the number and log index of the last event of a
// batch's chain (ok false when it has none), or what is wrong with it.
func lastInChain(tx *bolt.Tx, batchID string) (seq, index uint64, ok bool, differs string) {
	prefix := append([]byte(batchID), 0)
	c := tx.Bucket(bucketChains).Cursor()
	// Batch ids never hold a byte below '-', so the chain's segments are
	// all the keys between id‖0x00 and id‖0x01.
	k, v := c.Seek(append([]byte(batchID), 1))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return 0, 0, false, ""
	}
	if len(k) != len(prefix)+4 {
		return 0, 0, false, fmt.Sprintf("a chain segment key of the batch has %d bytes", len(k))
	}
	seg := uint64(binary.BigEndian.Uint32(k[len(prefix):]))
	idx, err := decodeSegment(v)
	if err != nil || len(idx) == 0 {
		return 0, 0, false, fmt.Sprintf("the chain's segment %d cannot be read (%v)", seg, err)
	}
	return seg*chainSegment + uint64(len(idx)-1), idx[len(idx)-1], true, ""
}

// appendChain adds event seq of a batch, at log index index, to its chain.
func appendChain(tx *bolt.Tx, batchID string, seq, index uint64) error {
	b := tx.Bucket(bucketChains)
	key := chainSegKey(batchID, seq/chainSegment)
	v := b.Get(key)
	idx, err := decodeSegment(v)
	if err != nil {
		return fmt.Errorf("batch %s: %w", batchID, err)
	}
	if uint64(len(idx)) != seq%chainSegment {
		return fmt.Errorf("batch %s: its chain's segment %d holds %d events, so event %d does not follow them", batchID, seq/chainSegment, len(idx), seq)
	}
	return b.Put(key, binary.AppendUvarint(bytes.Clone(v), index))
}

func readHead(tx *bolt.Tx, batchID string) (uint64, trace.Hash) {
	var h trace.Hash
	v := tx.Bucket(bucketChains).Get([]byte(batchID))
	if len(v) != 40 {
		return 0, h
	}
	copy(h[:], v[8:])
	return binary.BigEndian.Uint64(v[:8]), h
}

func writeHead(tx *bolt.Tx, batchID string, n uint64, h trace.Hash) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 40), n)
	return tx.Bucket(bucketChains).Put([]byte(batchID), append(v, h[:]...))
}

// signerNumber returns the number of a signer's public key in the signers
// table, adding it when it is new (in a write transaction).
func signerNumber(tx *bolt.Tx, pub []byte) (uint64, error) {
	b := tx.Bucket(bucketSigners)
	if v := b.Get(append([]byte{'k'}, pub...)); len(v) == 8 {
		return binary.BigEndian.Uint64(v), nil
	}
	n, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := b.Put(append([]byte{'n'}, u64(n)...), pub); err != nil {
		return 0, err
	}
	return n, b.Put(append([]byte{'k'}, pub...), u64(n))
}

// signerKey returns the public key of a signer's number.
func signerKey(tx *bolt.Tx, n uint64) ([]byte, error) {
	v := tx.Bucket(bucketSigners).Get(append([]byte{'n'}, u64(n)...))
	if v == nil {
		return nil, fmt.Errorf("signer number %d is not in the signers table", n)
	}
	return bytes.Clone(v), nil
}

// eventRecordVersion is the first byte of an event record.
const eventRecordVersion = 3

// encodeRecord writes an event's record: version byte 3, then its body
// and signature, each as a uvarint length and bytes, its signer's number
// as a uvarint, the API key id as a uvarint length and bytes, and the
// receive time as big-endian Unix nanoseconds. Its log index is its key.
func encodeRecord(tx *bolt.Tx, st *StoredEvent) ([]byte, error) {
	signer, err := signerNumber(tx, st.Signer)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(st.Body)+len(st.Signature)+len(st.KeyID)+24)
	b = append(b, eventRecordVersion)
	b = binary.AppendUvarint(b, uint64(len(st.Body)))
	b = append(b, st.Body...)
	b = binary.AppendUvarint(b, uint64(len(st.Signature)))
	b = append(b, st.Signature...)
	b = binary.AppendUvarint(b, signer)
	b = binary.AppendUvarint(b, uint64(len(st.KeyID)))
	b = append(b, st.KeyID...)
	return binary.BigEndian.AppendUint64(b, uint64(st.ReceivedAt.UnixNano())), nil
}

// decodeRecord parses the event record at a log index, copying every byte
// out of bbolt's memory. It does not decode the event body: History and
// EventByHash do.
func decodeRecord(tx *bolt.Tx, index uint64, v []byte) (*StoredEvent, error) {
	if len(v) < 1 || v[0] != eventRecordVersion {
		return nil, errors.New("unknown record version")
	}
	rest := v[1:]
	field := func() ([]byte, error) {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return nil, errors.New("truncated record")
		}
		f := bytes.Clone(rest[k : k+int(n)])
		rest = rest[k+int(n):]
		return f, nil
	}
	body, err := field()
	if err != nil {
		return nil, err
	}
	sig, err := field()
	if err != nil {
		return nil, err
	}
	num, k := binary.Uvarint(rest)
	if k <= 0 {
		return nil, errors.New("truncated record")
	}
	rest = rest[k:]
	keyID, err := field()
	if err != nil {
		return nil, err
	}
	if len(rest) != 8 {
		return nil, errors.New("bad record length")
	}
	signer, err := signerKey(tx, num)
	if err != nil {
		return nil, err
	}
	se := &trace.SignedEvent{Body: body, Hash: trace.HashEvent(body), Signature: sig, Signer: signer}
	return &StoredEvent{SignedEvent: se, KeyID: string(keyID), LogIndex: index,
		ReceivedAt: time.Unix(0, int64(binary.BigEndian.Uint64(rest))).UTC()}, nil
}

// eventAt reads the event record at a log index (nil, nil when none).
func eventAt(tx *bolt.Tx, index uint64) (*StoredEvent, error) {
	v := tx.Bucket(bucketEvents).Get(u64(index))
	if v == nil {
		return nil, nil
	}
	return decodeRecord(tx, index, v)
}

// Neither the event-hash index nor the chains are written by the commits
// that add events: inserting each new hash into a B+tree keyed by hash,
// and each new event into its lot's chain, would change two pages at
// random places for nearly every event. They hold the events of the log
// up to a mark (meta "merged"); the events after it — the tail — are
// listed in log order in the bucket recent (uint64 log index → batch id ‖
// uint64 seq), which the commit appends to, and found by hash through the
// log's own entries (logevents). A map in memory (logTail) finds them
// quickly. When the tail is long enough (mergeEvery), it is merged into
// the index, in hash order, and into the chains and their heads, in a
// transaction of its own that moves the mark and empties recent: one write
// of the pages they have for many events. A merge cut short leaves the
// mark where it was, and the next merges the same events again. Close
// merges the tail, so a closed file normally has none.
var (
	bucketRecent = []byte("recent")
	keyMerged    = []byte("merged")
)

func init() { allBuckets = append(allBuckets, bucketRecent) }

// mergedMark is the log index below which every event is in eventindex
// and in its chain.
func mergedMark(tx *bolt.Tx) uint64 { return readU64(tx.Bucket(bucketMeta).Get(keyMerged)) }

// mergeEvery is how long the tail grows before it is merged into an index
// of n events: an eighth of it, so that a merge, which rewrites most of the
// index's pages, costs about the same per event at any size, within
// bounds that keep the map of the tail small.
var mergeEvery = func(n uint64) uint64 { return min(max(n/8, 16384), 262144) }

// logTail finds the events of the tail: by hash, and by batch in chain
// order. The committer adds each event before its commit (and drops a
// failed commit's), and drops merged ones after a merge commits; from is
// the mark the map starts at.
type logTail struct {
	mu     sync.RWMutex
	hashes map[trace.Hash]uint64
	chains map[string][]tailEvent
	from   atomic.Uint64
}

type tailEvent struct{ seq, index uint64 }

func newTail(from uint64) *logTail {
	t := &logTail{hashes: map[trace.Hash]uint64{}, chains: map[string][]tailEvent{}}
	t.from.Store(from)
	return t
}

func recentValue(batchID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, len(batchID)+8), batchID...), seq)
}

func splitRecent(v []byte) (string, uint64, bool) {
	if len(v) < 9 {
		return "", 0, false
	}
	return string(v[:len(v)-8]), binary.BigEndian.Uint64(v[len(v)-8:]), true
}

// loadTail reads the tail a transaction sees into a new map.
func loadTail(tx *bolt.Tx) *logTail {
	t := newTail(mergedMark(tx))
	entries := tx.Bucket(bucketLogEvents)
	c := tx.Bucket(bucketRecent).Cursor()
	for k, v := c.Seek(u64(t.from.Load())); k != nil; k, v = c.Next() {
		batch, seq, ok := splitRecent(v)
		h := entries.Get(k)
		if !ok || len(h) != 32 {
			continue // found wanting by the readers' checks
		}
		t.add(batch, seq, binary.BigEndian.Uint64(k), trace.Hash(h))
	}
	return t
}

// add files an event of the tail.
func (t *logTail) add(batch string, seq, index uint64, h trace.Hash) {
	t.mu.Lock()
	t.hashes[h] = index
	t.chains[batch] = append(t.chains[batch], tailEvent{seq, index})
	t.mu.Unlock()
}

// drop removes events a failed commit added.
func (t *logTail) drop(events []*StoredEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, se := range events {
		delete(t.hashes, se.Hash)
		c := t.chains[se.Event.Batch]
		for i, e := range c {
			if e.index == se.LogIndex {
				c = append(c[:i:i], c[i+1:]...)
				break
			}
		}
		if len(c) == 0 {
			delete(t.chains, se.Event.Batch)
		} else {
			t.chains[se.Event.Batch] = c
		}
	}
}

// merged moves the map's mark to mark once a merge committed, dropping the
// events below it.
func (t *logTail) merged(mark uint64) {
	t.from.Store(mark)
	t.mu.Lock()
	defer t.mu.Unlock()
	for h, i := range t.hashes {
		if i < mark {
			delete(t.hashes, h)
		}
	}
	for b, c := range t.chains {
		i := 0
		for i < len(c) && c[i].index < mark {
			i++
		}
		if i == len(c) {
			delete(t.chains, b)
		} else if i > 0 {
			t.chains[b] = slices.Clone(c[i:])
		}
	}
}

func (t *logTail) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.hashes)
}

// window returns the tail as tx sees it, [mark, size), and cut: the map
// holds the events of [cut, size) (read it before calling window); those
// of [mark, cut), which a merge that committed after tx began dropped from
// it, or all without a map, are looked for in the file.
func (t *logTail) window(tx *bolt.Tx) (mark, cut, size uint64) {
	mark, size = mergedMark(tx), logSize(tx)
	if t == nil {
		return mark, size, size
	}
	return mark, min(max(mark, t.from.Load()), size), size
}

// lookupEvent returns the log index of an event by its hash, as tx sees
// the file: from the index, else from the tail.
func (t *logTail) lookupEvent(tx *bolt.Tx, h trace.Hash) (uint64, bool) {
	if v := tx.Bucket(bucketEventHash).Get(h[:]); len(v) == 8 {
		return binary.BigEndian.Uint64(v), true
	}
	var i uint64
	var ok bool
	if t != nil {
		t.mu.RLock()
		i, ok = t.hashes[h]
		t.mu.RUnlock()
	}
	mark, cut, size := t.window(tx)
	entries := tx.Bucket(bucketLogEvents)
	isEvent := func(i uint64) bool {
		return bytes.Equal(entries.Get(u64(i)), h[:]) && tx.Bucket(bucketEvents).Get(u64(i)) != nil
	}
	if ok && i >= cut && i < size && isEvent(i) {
		return i, true
	}
	c := tx.Bucket(bucketRecent).Cursor()
	for k, _ := c.Seek(u64(mark)); k != nil; k, _ = c.Next() {
		i := binary.BigEndian.Uint64(k)
		if i >= cut {
			break
		}
		if isEvent(i) {
			return i, true
		}
	}
	return 0, false
}

// mapped returns the map's events of a batch. The slice may be read after
// the lock is released: add only appends beyond its length, and drop and
// merged make new slices.
func (t *logTail) mapped(batchID string) []tailEvent {
	if t == nil {
		return nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.chains[batchID]
}

// lastOf returns a batch's last event in the tail as tx sees it.
func (t *logTail) lastOf(tx *bolt.Tx, batchID string) (tailEvent, bool) {
	mapped := t.mapped(batchID)
	mark, cut, size := t.window(tx)
	for i := len(mapped) - 1; i >= 0; i-- {
		if e := mapped[i]; e.index < size {
			if e.index >= cut {
				return e, true
			}
			break
		}
	}
	if cut > mark {
		if te := t.tailOf(tx, batchID); len(te) > 0 {
			return te[len(te)-1], true
		}
	}
	return tailEvent{}, false
}

// tailOf returns a batch's events in the tail as tx sees it, in order.
func (t *logTail) tailOf(tx *bolt.Tx, batchID string) []tailEvent {
	mapped := t.mapped(batchID)
	mark, cut, size := t.window(tx)
	var out []tailEvent
	if cut > mark {
		c := tx.Bucket(bucketRecent).Cursor()
		for k, v := c.Seek(u64(mark)); k != nil; k, v = c.Next() {
			i := binary.BigEndian.Uint64(k)
			if i >= cut {
				break
			}
			if b, seq, ok := splitRecent(v); ok && b == batchID {
				out = append(out, tailEvent{seq, i})
			}
		}
	}
	for _, e := range mapped {
		if e.index >= cut && e.index < size {
			out = append(out, e)
		}
	}
	return out
}

// chainView reads batches' chains and heads in a transaction: the merged
// part from chains, the rest from the tail.
type chainView struct {
	tx   *bolt.Tx
	tail *logTail
}

// head returns a batch's length and the hash of its last event: its last
// event in the tail, else its head record.
func (cv chainView) head(batchID string) (uint64, trace.Hash) {
	if last, ok := cv.tail.lastOf(cv.tx, batchID); ok {
		var h trace.Hash
		copy(h[:], cv.tx.Bucket(bucketLogEvents).Get(u64(last.index)))
		return last.seq + 1, h
	}
	return readHead(cv.tx, batchID)
}

// headRecord returns a batch's head record as stored, and whether its
// head is in the tail instead (then the record is nil).
func (cv chainView) headRecord(batchID string) ([]byte, bool) {
	if _, ok := cv.tail.lastOf(cv.tx, batchID); ok {
		n, h := cv.head(batchID)
		return append(u64(n), h[:]...), true
	}
	return cv.tx.Bucket(bucketChains).Get([]byte(batchID)), false
}

// each calls f with the number and log index of each event of a batch's
// chain from number from on, in order.
func (cv chainView) each(batchID string, from uint64, f func(seq, index uint64) error) error {
	if err := eachInChain(cv.tx, batchID, from, f); err != nil {
		return err
	}
	for _, e := range cv.tail.tailOf(cv.tx, batchID) {
		if e.seq >= from {
			if err := f(e.seq, e.index); err != nil {
				return err
			}
		}
	}
	return nil
}

// index returns the log index of event seq of a batch's chain.
func (cv chainView) index(batchID string, seq uint64) (uint64, bool) {
	if i, ok := chainIndex(cv.tx, batchID, seq); ok {
		return i, true
	}
	for _, e := range cv.tail.tailOf(cv.tx, batchID) {
		if e.seq == seq {
			return e.index, true
		}
	}
	return 0, false
}

// last returns the number and log index of the last event of a batch's
// chain (ok false when it has none), or what is wrong with it.
func (cv chainView) last(batchID string) (seq, index uint64, ok bool, differs string) {
	if last, ok := cv.tail.lastOf(cv.tx, batchID); ok {
		return last.seq, last.index, true, ""
	}
	return lastInChain(cv.tx, batchID)
}

// mergeTail merges the tail into the event-hash index, in hash order,
// and into the chains and their heads, empties recent and moves the mark
// to the end of the log; it returns the events merged. It runs in its own
// write transaction.
func mergeTail(tx *bolt.Tx) (int, error) {
	mark, size := mergedMark(tx), logSize(tx)
	if mark >= size {
		return 0, nil
	}
	type item struct {
		h trace.Hash
		i uint64
	}
	var items []item
	heads := map[string]head{}
	entries := tx.Bucket(bucketLogEvents)
	c := tx.Bucket(bucketRecent).Cursor()
	for k, v := c.Seek(u64(mark)); k != nil; k, v = c.Seek(u64(mark)) {
		i := binary.BigEndian.Uint64(k)
		if i >= size {
			break
		}
		batch, seq, ok := splitRecent(v)
		h := entries.Get(k)
		if !ok || len(h) != 32 {
			return 0, fmt.Errorf("the tail's entry at log index %d is malformed or has no log entry", i)
		}
		if err := appendChain(tx, batch, seq, i); err != nil {
			return 0, err
		}
		items = append(items, item{trace.Hash(h), i})
		heads[batch] = head{n: seq + 1, h: trace.Hash(h)}
		if err := c.Delete(); err != nil {
			return 0, err
		}
	}
	for batch, hd := range heads {
		if err := writeHead(tx, batch, hd.n, hd.h); err != nil {
			return 0, err
		}
	}
	slices.SortFunc(items, func(a, b item) int { return bytes.Compare(a.h[:], b.h[:]) })
	index := tx.Bucket(bucketEventHash)
	for _, it := range items {
		if err := index.Put(it.h[:], u64(it.i)); err != nil {
			return 0, err
		}
	}
	return len(items), tx.Bucket(bucketMeta).Put(keyMerged, u64(size))
}
