package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// Inspectors are stored as JSON by id:
//
//	inspectors  id → trace.Inspector
//
// An inspector's signing key lives in the KeyDir under InspectorKeyName(id),
// beside the cooperatives' keys; cooperative ids may therefore not start
// with InspectorKeyPrefix.
var bucketInspectors = []byte("inspectors")

func init() { allBuckets = append(allBuckets, bucketInspectors) }

// InspectorKeyPrefix starts the KeyDir name of every inspector's key.
const InspectorKeyPrefix = "inspector-"

// MaxInspectorIDLen keeps InspectorKeyName(id) an identifier.
const MaxInspectorIDLen = trace.MaxIDLen - len(InspectorKeyPrefix)

// InspectorKeyName is the KeyDir name of an inspector's signing key.
func InspectorKeyName(id string) string { return InspectorKeyPrefix + id }

// CreateInspector stores a new inspector. An empty ID is filled with one
// derived from the name; CreatedAt is set to now.
func (db *DB) CreateInspector(in *trace.Inspector) error {
	in.CreatedAt = db.opts.Now().UTC()
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInspectors)
		if in.ID == "" {
			in.ID = uniqueID(b, slugID(in.Name, MaxInspectorIDLen-3))
		}
		if err := in.Validate(); err != nil {
			return err
		}
		if len(in.ID) > MaxInspectorIDLen {
			return &trace.FieldError{Field: "id", Reason: fmt.Sprintf("an inspector id has at most %d characters", MaxInspectorIDLen)}
		}
		if b.Get([]byte(in.ID)) != nil {
			return fmt.Errorf("inspector %s already exists: %w", in.ID, trace.ErrConflict)
		}
		return putJSON(b, in.ID, in)
	})
}

// Inspector returns one inspector.
func (db *DB) Inspector(id string) (*trace.Inspector, error) {
	var in trace.Inspector
	return &in, db.get(bucketInspectors, id, "inspector", &in)
}

// Inspectors returns every inspector, ordered by id.
func (db *DB) Inspectors() ([]*trace.Inspector, error) {
	var out []*trace.Inspector
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInspectors).ForEach(func(k, v []byte) error {
			var in trace.Inspector
			if err := json.Unmarshal(v, &in); err != nil {
				return fmt.Errorf("inspector %s: %w", k, err)
			}
			out = append(out, &in)
			return nil
		})
	})
	return out, err
}

// AddInspectorKey registers a public key for an inspector. It reports
// whether the key was new.
func (db *DB) AddInspectorKey(id string, pub []byte) (*trace.Inspector, bool, error) {
	var in trace.Inspector
	added := false
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInspectors)
		if err := getJSON(b, id, "inspector", &in); err != nil {
			return err
		}
		if trace.HasKey(in.PublicKeys, pub) {
			return nil
		}
		in.PublicKeys = append(in.PublicKeys, bytes.Clone(pub))
		if err := in.Validate(); err != nil {
			return err
		}
		added = true
		return putJSON(b, in.ID, &in)
	})
	return &in, added, err
}

// AddCooperativeKey registers a public key for a cooperative, after its
// other keys (or before them with first, as for the server's own signing
// key), in one transaction. It reports whether the key was new.
func (db *DB) AddCooperativeKey(id string, pub []byte, first bool) (*trace.Cooperative, bool, error) {
	var c trace.Cooperative
	added := false
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCoops)
		if err := getJSON(b, id, "cooperative", &c); err != nil {
			return err
		}
		if trace.HasKey(c.PublicKeys, pub) {
			return nil
		}
		if first {
			c.PublicKeys = append([][]byte{bytes.Clone(pub)}, c.PublicKeys...)
		} else {
			c.PublicKeys = append(c.PublicKeys, bytes.Clone(pub))
		}
		if err := c.Validate(); err != nil {
			return err
		}
		added = true
		return putJSON(b, c.ID, &c)
	})
	return &c, added, err
}

// reservedCoopID reports why a cooperative id cannot be used, or "".
func reservedCoopID(id string) string {
	if strings.HasPrefix(id, InspectorKeyPrefix) {
		return fmt.Sprintf("ids starting with %q are reserved for inspectors' keys", InspectorKeyPrefix)
	}
	return ""
}
