package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// Attachments (photos, certificate scans) are stored once by the SHA-256
// of their bytes and never deleted, since signed events refer to them:
//
//	attachments     sha256 → the file's bytes
//	attachmeta      sha256 → AttachmentInfo (JSON)
//	attachvariants  sha256 ‖ name → a derived rendition (e.g. "w640", a
//	                resized JPEG); a cache the API fills, bounded by the
//	                few names it uses
var (
	bucketAttachments    = []byte("attachments")
	bucketAttachMeta     = []byte("attachmeta")
	bucketAttachVariants = []byte("attachvariants")
)

const attachVariantNameRule = "1 to 32 ASCII letters, digits, - or _"

func init() {
	allBuckets = append(allBuckets, bucketAttachments, bucketAttachMeta, bucketAttachVariants)
}

// AttachmentInfo describes a stored attachment.
type AttachmentInfo struct {
	SHA256    trace.Hash `json:"-"`
	MediaType string     `json:"media_type"` // one of trace.MediaTypes
	Size      int64      `json:"size"`
	// Width and Height are the pixel dimensions of an image as stored
	// (before any EXIF orientation); zero for a PDF.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// UploadedAt, CooperativeID and KeyID record the first upload: when,
	// for which cooperative (empty for an admin key) and with which key.
	UploadedAt    time.Time `json:"uploaded_at"`
	CooperativeID string    `json:"cooperative_id,omitempty"`
	KeyID         string    `json:"key_id,omitempty"`
}

// PutAttachment stores data under its SHA-256 with the given description
// (its SHA256, Size and UploadedAt are filled in here). Content already
// stored is kept as it is: created is false and the returned info is the
// stored one, from the first upload.
func (db *DB) PutAttachment(info AttachmentInfo, data []byte) (stored *AttachmentInfo, created bool, err error) {
	if err := PrepareAttachment(&info, data, db.opts.Now()); err != nil {
		return nil, false, err
	}
	err = db.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketAttachMeta)
		if raw := meta.Get(info.SHA256[:]); raw != nil {
			old, err := decodeAttachInfo(info.SHA256, raw)
			if err != nil {
				return err
			}
			stored = old
			return nil
		}
		raw, err := json.Marshal(&info)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketAttachments).Put(info.SHA256[:], data); err != nil {
			return err
		}
		if err := meta.Put(info.SHA256[:], raw); err != nil {
			return err
		}
		stored, created = &info, true
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: attachment %s: %w", info.SHA256, err)
	}
	return stored, created, nil
}

// PrepareAttachment checks an attachment about to be stored and fills in
// its SHA256, Size and UploadedAt.
func PrepareAttachment(info *AttachmentInfo, data []byte, now time.Time) error {
	if len(data) == 0 {
		return &trace.FieldError{Field: "file", Reason: "is empty"}
	}
	if !slices.Contains(trace.MediaTypes, info.MediaType) {
		return &trace.FieldError{Field: "media_type", Reason: fmt.Sprintf("%q is not an attachment type", info.MediaType)}
	}
	info.SHA256 = sha256.Sum256(data)
	info.Size = int64(len(data))
	info.UploadedAt = now.UTC().Truncate(time.Second)
	return nil
}

// DecodeAttachmentInfo reads a stored AttachmentInfo of the attachment h.
func DecodeAttachmentInfo(h trace.Hash, raw []byte) (*AttachmentInfo, error) {
	return decodeAttachInfo(h, raw)
}

func decodeAttachInfo(h trace.Hash, raw []byte) (*AttachmentInfo, error) {
	var info AttachmentInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("attachment %s: stored record is damaged: %w", h, err)
	}
	info.SHA256 = h
	return &info, nil
}

// Attachment returns the description of a stored attachment, or an error
// wrapping trace.ErrNotFound.
func (db *DB) Attachment(h trace.Hash) (*AttachmentInfo, error) {
	var info *AttachmentInfo
	err := db.bolt.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketAttachMeta).Get(h[:])
		if raw == nil {
			return fmt.Errorf("attachment %s: %w", h, trace.ErrNotFound)
		}
		var err error
		info, err = decodeAttachInfo(h, raw)
		return err
	})
	return info, err
}

// Attachments returns the descriptions of those of hs that are stored,
// in one read; hashes that are not stored are absent from the map.
func (db *DB) Attachments(hs ...trace.Hash) (map[trace.Hash]*AttachmentInfo, error) {
	out := make(map[trace.Hash]*AttachmentInfo, len(hs))
	err := db.bolt.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketAttachMeta)
		for _, h := range hs {
			raw := meta.Get(h[:])
			if raw == nil {
				continue
			}
			info, err := decodeAttachInfo(h, raw)
			if err != nil {
				return err
			}
			out[h] = info
		}
		return nil
	})
	return out, err
}

// AttachmentData returns a copy of a stored attachment's bytes, or an
// error wrapping trace.ErrNotFound.
func (db *DB) AttachmentData(h trace.Hash) ([]byte, error) {
	var data []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAttachments).Get(h[:])
		if v == nil {
			return fmt.Errorf("attachment %s: %w", h, trace.ErrNotFound)
		}
		data = bytes.Clone(v)
		return nil
	})
	return data, err
}

func variantKey(h trace.Hash, name string) ([]byte, error) {
	if err := CheckVariantName(name); err != nil {
		return nil, err
	}
	return append(bytes.Clone(h[:]), name...), nil
}

// CheckVariantName refuses a name of a rendition that is not 1 to 32
// ASCII letters, digits, - or _.
func CheckVariantName(name string) error {
	if len(name) == 0 || len(name) > 32 {
		return fmt.Errorf("store: variant name %q: want %s", name, attachVariantNameRule)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("store: variant name %q: want %s", name, attachVariantNameRule)
		}
	}
	return nil
}

// AttachmentVariant returns a copy of a stored rendition of an attachment
// (nil, nil when there is none yet).
func (db *DB) AttachmentVariant(h trace.Hash, name string) ([]byte, error) {
	key, err := variantKey(h, name)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = db.bolt.View(func(tx *bolt.Tx) error {
		data = bytes.Clone(tx.Bucket(bucketAttachVariants).Get(key))
		return nil
	})
	return data, err
}

// PutAttachmentVariant stores a rendition of a stored attachment. It
// replaces any earlier one of the same name.
func (db *DB) PutAttachmentVariant(h trace.Hash, name string, data []byte) error {
	key, err := variantKey(h, name)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return fmt.Errorf("store: variant %s of attachment %s is empty", name, h)
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAttachMeta).Get(h[:]) == nil {
			return fmt.Errorf("attachment %s: %w", h, trace.ErrNotFound)
		}
		return tx.Bucket(bucketAttachVariants).Put(key, data)
	})
}
