package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// Scans of labels: how often each lot's page was opened, per day, and
// how often each serialised label was, without anything about who
// scanned (no address, no cookie, no device):
//
//	scans  "d" ‖ batch id ‖ 0x00 ‖ YYYYMMDD → uint64 count
//	       "s" ‖ batch id ‖ 0x00 ‖ serial   → uint64 count ‖ first YYYYMMDD ‖ last YYYYMMDD
//
// Counts are added in batches (AddScans), not one write per scan, and are
// not part of any signed record: they are the service's own statistics.
var bucketScans = []byte("scans")

func init() { allBuckets = append(allBuckets, bucketScans) }

// ScanKey names what one count is of: a lot on a day, and the serial of
// the label when it carries one.
type ScanKey struct {
	Batch  string
	Day    string // YYYYMMDD
	Serial string // empty for a label without a serial
}

// MaxSerialLen bounds a serial kept in the counts (GS1 AI 21: 20).
const MaxSerialLen = 20

// AddScans adds counts of scans to the store in one transaction.
func (db *DB) AddScans(counts map[ScanKey]uint64) error {
	if len(counts) == 0 {
		return nil
	}
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketScans)
		for k, n := range counts {
			if !trace.ValidID(k.Batch) || len(k.Day) != 8 || len(k.Serial) > MaxSerialLen {
				continue
			}
			dk := scanKey('d', k.Batch, k.Day)
			if err := b.Put(dk, u64(readU64(b.Get(dk))+n)); err != nil {
				return err
			}
			if k.Serial == "" {
				continue
			}
			sk := scanKey('s', k.Batch, k.Serial)
			old := b.Get(sk)
			count, first := uint64(0), k.Day
			if len(old) == 24 {
				count, first = binary.BigEndian.Uint64(old), string(old[8:16])
				if k.Day < first {
					first = k.Day
				}
			}
			last := k.Day
			if len(old) == 24 && string(old[16:24]) > last {
				last = string(old[16:24])
			}
			v := append(u64(count+n), first...)
			if err := b.Put(sk, append(v, last...)); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanKey(kind byte, batch, rest string) []byte {
	k := append([]byte{kind}, batch...)
	k = append(k, 0)
	return append(k, rest...)
}

func readU64(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// DayScans is how often a lot's page was opened on one day.
type DayScans struct {
	Day   string // YYYY-MM-DD
	Count uint64
}

// SerialScans is how often one serialised label was scanned.
type SerialScans struct {
	Serial      string
	Count       uint64
	First, Last string // YYYY-MM-DD
}

// LotScans are the scan counts of a lot.
type LotScans struct {
	Total   uint64
	Days    []DayScans    // oldest first
	Serials []SerialScans // most scanned first
}

// Scans returns the scan counts of a lot.
func (db *DB) Scans(batchID string) (*LotScans, error) {
	out := &LotScans{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketBatches).Get([]byte(batchID)) == nil {
			return fmt.Errorf("batch %s: %w", batchID, trace.ErrNotFound)
		}
		c := tx.Bucket(bucketScans).Cursor()
		prefix := scanKey('d', batchID, "")
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			n := readU64(v)
			out.Total += n
			out.Days = append(out.Days, DayScans{Day: dashDay(string(k[len(prefix):])), Count: n})
		}
		prefix = scanKey('s', batchID, "")
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(v) != 24 {
				continue
			}
			out.Serials = append(out.Serials, SerialScans{Serial: string(k[len(prefix):]), Count: binary.BigEndian.Uint64(v),
				First: dashDay(string(v[8:16])), Last: dashDay(string(v[16:24]))})
		}
		return nil
	})
	sort.SliceStable(out.Serials, func(i, j int) bool { return out.Serials[i].Count > out.Serials[j].Count })
	return out, err
}

func dashDay(d string) string {
	if len(d) != 8 || strings.ContainsFunc(d, func(r rune) bool { return r < '0' || r > '9' }) {
		return d
	}
	return d[:4] + "-" + d[4:6] + "-" + d[6:]
}
