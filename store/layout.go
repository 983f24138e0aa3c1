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

// The event-hash index is not written by the commits that add events:
// inserting each new hash into a B+tree keyed by hash would change a page
// of it at a random place for nearly every event. It holds the events of
// the log up to a mark (meta "hashed"); the events after the mark — the
// tail — are found through the log's own entries (logevents, in log
// order), which the commit writes anyway, and a map in memory. When the
// tail is long enough (mergeEvery), its hashes are merged into the index
// in hash order, in a transaction of their own that moves the mark: one
// write of the pages the index has for many events. A merge cut short
// leaves the mark where it was, and the next merges them again.

var keyHashed = []byte("hashed")

// hashedMark is the log index below which every event is in eventindex.
func hashedMark(tx *bolt.Tx) uint64 { return readU64(tx.Bucket(bucketMeta).Get(keyHashed)) }

// mergeEvery is how long the tail grows before it is merged into an index
// of n events: an eighth of the index, so that a merge, which rewrites
// most of the index's pages, costs about the same per event at any size,
// within bounds that keep the map of the tail small.
var mergeEvery = func(n uint64) uint64 { return min(max(n/8, 16384), 262144) }

// hashTail finds the events of the tail by their hash: a map of the tail
// as of its mark (from), kept by the committer, which adds each event
// before its commit and drops merged ones after the merge commits.
type hashTail struct {
	mu   sync.RWMutex
	m    map[trace.Hash]uint64
	from atomic.Uint64 // the mark the map starts at
}

// loadTail reads the tail of the log a transaction sees into a new map.
func loadTail(tx *bolt.Tx) *hashTail {
	t := &hashTail{m: map[trace.Hash]uint64{}}
	mark := hashedMark(tx)
	t.from.Store(mark)
	events := tx.Bucket(bucketEvents).Cursor()
	entries := tx.Bucket(bucketLogEvents)
	for k, _ := events.Seek(u64(mark)); k != nil; k, _ = events.Next() {
		if h := entries.Get(k); len(h) == 32 {
			t.m[trace.Hash(h)] = binary.BigEndian.Uint64(k)
		}
	}
	return t
}

// add files an event of the tail (called before its commit).
func (t *hashTail) add(h trace.Hash, index uint64) {
	t.mu.Lock()
	t.m[h] = index
	t.mu.Unlock()
}

// merged moves the map's mark to mark once a merge committed, dropping the
// events below it.
func (t *hashTail) merged(mark uint64) {
	t.from.Store(mark)
	t.mu.Lock()
	for h, i := range t.m {
		if i < mark {
			delete(t.m, h)
		}
	}
	t.mu.Unlock()
}

func (t *hashTail) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

// lookupEvent returns the log index of an event by its hash, as tx sees
// the file: from the index, else from the tail (looked through in the
// log when t is nil).
func (t *hashTail) lookupEvent(tx *bolt.Tx, h trace.Hash) (uint64, bool) {
	if v := tx.Bucket(bucketEventHash).Get(h[:]); len(v) == 8 {
		return binary.BigEndian.Uint64(v), true
	}
	mark, size := hashedMark(tx), logSize(tx)
	entries := tx.Bucket(bucketLogEvents)
	isEvent := func(i uint64) bool {
		return i >= mark && i < size && bytes.Equal(entries.Get(u64(i)), h[:]) && tx.Bucket(bucketEvents).Get(u64(i)) != nil
	}
	from := size // without a map, the whole tail is looked through
	if t != nil {
		t.mu.RLock()
		i, ok := t.m[h]
		t.mu.RUnlock()
		if ok && isEvent(i) {
			return i, true
		}
		from = t.from.Load()
	}
	// A merge that committed after tx began may have dropped from the map
	// events that tx does not see in the index: look for them in the log.
	if from > mark {
		c := entries.Cursor()
		for k, v := c.Seek(u64(mark)); k != nil; k, v = c.Next() {
			i := binary.BigEndian.Uint64(k)
			if i >= min(from, size) {
				break
			}
			if bytes.Equal(v, h[:]) && isEvent(i) {
				return i, true
			}
		}
	}
	return 0, false
}

// mergeTail merges the tail's events into the event-hash index, in hash
// order, and moves the mark to the end of the log; it returns the events
// merged. It runs in its own write transaction.
func mergeTail(tx *bolt.Tx) (int, error) {
	mark, size := hashedMark(tx), logSize(tx)
	if mark >= size {
		return 0, nil
	}
	type item struct {
		h trace.Hash
		i uint64
	}
	var items []item
	entries := tx.Bucket(bucketLogEvents)
	c := tx.Bucket(bucketEvents).Cursor()
	for k, _ := c.Seek(u64(mark)); k != nil; k, _ = c.Next() {
		i := binary.BigEndian.Uint64(k)
		if i >= size {
			break
		}
		h := entries.Get(k)
		if len(h) != 32 {
			return 0, fmt.Errorf("the event at log index %d has no log entry", i)
		}
		items = append(items, item{trace.Hash(h), i})
	}
	slices.SortFunc(items, func(a, b item) int { return bytes.Compare(a.h[:], b.h[:]) })
	index := tx.Bucket(bucketEventHash)
	for _, it := range items {
		if err := index.Put(it.h[:], u64(it.i)); err != nil {
			return 0, err
		}
	}
	return len(items), tx.Bucket(bucketMeta).Put(keyHashed, u64(size))
}
