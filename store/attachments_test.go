package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/trace"
)

func TestAttachmentStoredOnceByHash(t *testing.T) {
	db := openTest(t)
	data := []byte("%PDF-1.4\n…giấy chứng nhận VietGAP…\n%%EOF\n")
	want := trace.Hash(sha256.Sum256(data))

	info, created, err := db.PutAttachment(AttachmentInfo{MediaType: "application/pdf", CooperativeID: "htx-a", KeyID: "k1"}, data)
	if err != nil || !created {
		t.Fatalf("first put: created %v, %v", created, err)
	}
	if info.SHA256 != want || info.Size != int64(len(data)) || info.UploadedAt.IsZero() {
		t.Fatalf("info %+v", info)
	}
	// The caller's slice may be reused; the store keeps its own copy.
	copy(data, "XXXX")

	// The same bytes again, from another cooperative: nothing changes.
	again := []byte("%PDF-1.4\n…giấy chứng nhận VietGAP…\n%%EOF\n")
	info2, created, err := db.PutAttachment(AttachmentInfo{MediaType: "application/pdf", CooperativeID: "htx-b", KeyID: "k2"}, again)
	if err != nil || created {
		t.Fatalf("second put: created %v, %v", created, err)
	}
	if info2.SHA256 != want || info2.CooperativeID != "htx-a" || info2.KeyID != "k1" || !info2.UploadedAt.Equal(info.UploadedAt) {
		t.Fatalf("second put changed the record: %+v", info2)
	}

	got, err := db.AttachmentData(want)
	if err != nil || !bytes.Equal(got, again) {
		t.Fatalf("data %q, %v", got, err)
	}
	meta, err := db.Attachment(want)
	if err != nil || meta.MediaType != "application/pdf" || meta.SHA256 != want {
		t.Fatalf("meta %+v, %v", meta, err)
	}

	missing := trace.Hash(sha256.Sum256([]byte("nothing")))
	if _, err := db.Attachment(missing); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("unknown attachment: %v", err)
	}
	if _, err := db.AttachmentData(missing); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("unknown attachment data: %v", err)
	}
	found, err := db.Attachments(want, missing)
	if err != nil || len(found) != 1 || found[want] == nil {
		t.Errorf("Attachments: %v, %v", found, err)
	}
}

func TestAttachmentRefusals(t *testing.T) {
	db := openTest(t)
	if _, _, err := db.PutAttachment(AttachmentInfo{MediaType: "image/png"}, nil); !errors.Is(err, trace.ErrInvalid) {
		t.Errorf("empty file: %v", err)
	}
	if _, _, err := db.PutAttachment(AttachmentInfo{MediaType: "text/html"}, []byte("<p>")); !errors.Is(err, trace.ErrInvalid) {
		t.Errorf("html: %v", err)
	}
}

func TestAttachmentVariants(t *testing.T) {
	db := openTest(t)
	info, _, err := db.PutAttachment(AttachmentInfo{MediaType: "image/jpeg", Width: 4000, Height: 3000}, []byte{0xff, 0xd8, 0xff, 1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.AttachmentVariant(info.SHA256, "w640"); v != nil || err != nil {
		t.Fatalf("variant before it is made: %q, %v", v, err)
	}
	if err := db.PutAttachmentVariant(info.SHA256, "w640", []byte("small")); err != nil {
		t.Fatal(err)
	}
	if v, err := db.AttachmentVariant(info.SHA256, "w640"); string(v) != "small" || err != nil {
		t.Fatalf("variant: %q, %v", v, err)
	}
	if err := db.PutAttachmentVariant(trace.Hash{1}, "w640", []byte("x")); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("variant of an unknown attachment: %v", err)
	}
	for _, bad := range []string{"", "w/640", "ảnh", string(make([]byte, 33))} {
		if err := db.PutAttachmentVariant(info.SHA256, bad, []byte("x")); err == nil {
			t.Errorf("variant name %q accepted", bad)
		}
	}
}

// TestAttachmentsSurviveReopen checks that attachments and their
// records are durable.
func TestAttachmentsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "truyxuat.db")
	db, err := Open(path, Options{Now: func() time.Time { return time.Date(2025, 8, 15, 6, 30, 0, 0, ict) }})
	if err != nil {
		t.Fatal(err)
	}
	info, _, err := db.PutAttachment(AttachmentInfo{MediaType: "image/png", Width: 1, Height: 1}, []byte("\x89PNG\r\n\x1a\n…"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Attachment(info.SHA256)
	if err != nil || got.Width != 1 || got.UploadedAt.Format(time.RFC3339) != "2025-08-14T23:30:00Z" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
