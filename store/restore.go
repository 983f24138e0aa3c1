package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// AllowOlder puts back a copy whose log is behind a checkpoint the
	// log has published. The store then opens read-only: it answers
	// reads but accepts no writes and signs no checkpoints until a copy
	// holding what was published is put back.
	AllowOlder bool
	// Now names the file set aside (default time.Now).
	Now func() time.Time
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	Backup *BackupReport
	// Published is the largest published checkpoint size the copy was
	// compared with (0: none known), and Where says where it is known from.
	Published uint64
	Where     string
	// Behind is set when the copy was put back with AllowOlder although
	// its log is behind Published.
	Behind bool
	// Aside is where the data file that was replaced now is ("" when
	// there was none). Restore never deletes it.
	Aside string
}

// ErrBehindPublished is returned (wrapped) when Restore refuses a copy
// older than what the log published; the RestoreResult returned with it
// says by how much.
var ErrBehindPublished = errors.New("store: the backup is older than what the log has published")

// Restore puts the backup at src in place of the data file at dst, which
// no running truyxuat may have open (else the error wraps ErrInUse). The
// backup is copied beside dst, synced and checked (CheckFile); its log is
// compared with the newest published checkpoint (PublishedFile, or the
// newest checkpoint in the data file it replaces, whichever is larger):
// a copy whose log differs from it is refused, and one that is behind it
// is refused unless opts.AllowOlder is set (the error wraps
// ErrBehindPublished). Then the current data file is renamed aside, the
// copy renamed into place and the directory synced.
func Restore(src, dst string, opts RestoreOptions) (*RestoreResult, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if sameFile(src, dst) {
		return nil, fmt.Errorf("store: restore: %s is the data file itself", src)
	}
	pubPath := PublishedPath(dst)
	pub, err := readPublished(pubPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: restore: %w; %s", err, remedyDamaged)
	}
	res := &RestoreResult{Where: inPublishedFile}
	current, err := newestCheckpoint(dst)
	switch {
	case errors.Is(err, ErrInUse):
		return nil, fmt.Errorf("store: restore: %w; stop the service first", err)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		// A damaged data file is a reason to restore: say nothing of it.
	case current != nil && (pub == nil || current.Size > pub.Size):
		// Record it before the data file that holds it is set aside, so
		// that the service knows it too.
		if pub != nil {
			current.CosignedSize, current.Cosigned = pub.CosignedSize, pub.Cosigned
		}
		if err := writePublished(pubPath, current); err != nil {
			return nil, fmt.Errorf("store: restore: %w", err)
		}
		pub = current
	}

	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.restoring")
	if err != nil {
		return nil, fmt.Errorf("store: restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	in, err := os.Open(src)
	if err != nil {
		tmp.Close()
		return nil, fmt.Errorf("store: restore: %w", err)
	}
	_, err = io.Copy(tmp, in)
	in.Close()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("store: restore: copying %s: %w", src, err)
	}
	if res.Backup, err = CheckFile(tmp.Name()); err != nil {
		return nil, fmt.Errorf("store: restore: the backup fails its check: %w", err)
	}
	res.Backup.Path = src
	if pub != nil {
		res.Published = pub.Size
		b, err := openReadOnly(tmp.Name())
		if err != nil {
			return nil, err
		}
		var problem *ReadOnlyError
		b.View(func(tx *bolt.Tx) error {
			problem = ComparePublished("the backup", &boltView{tx: tx, size: logSize(tx)}, pub, res.Where)
			return nil
		})
		b.Close()
		switch {
		case problem == nil:
		case !problem.Behind():
			return nil, fmt.Errorf("store: restore: the backup is not a copy of this log: %s", problem.Reason)
		case !opts.AllowOlder:
			return res, fmt.Errorf("%w: %s", ErrBehindPublished, problem.Reason)
		default:
			res.Behind = true
		}
	}

	if _, err := os.Stat(dst); err == nil {
		res.Aside = dst + ".before-restore-" + opts.Now().UTC().Format("20060102T150405Z")
		for i := 2; ; i++ {
			if _, err := os.Lstat(res.Aside); errors.Is(err, fs.ErrNotExist) {
				break
			}
			res.Aside = fmt.Sprintf("%s.before-restore-%s-%d", dst, opts.Now().UTC().Format("20060102T150405Z"), i)
		}
		if err := os.Rename(dst, res.Aside); err != nil {
			return nil, fmt.Errorf("store: restore: setting the current data file aside: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, fmt.Errorf("store: restore: %w (the data file that was there is now %s)", err, res.Aside)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return nil, fmt.Errorf("store: restore: %w", err)
	}
	return res, nil
}

// newestCheckpoint reads the newest stored checkpoint of a closed data
// file (nil if it has none).
func newestCheckpoint(path string) (*Published, error) {
	b, err := openReadOnly(path)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	var pub *Published
	err = b.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketCheckpoints) == nil {
			return nil
		}
		_, note := (&boltView{tx: tx}).LatestCheckpoint()
		if note == nil {
			return nil
		}
		var err error
		pub, err = PublishedFromNote(note)
		return err
	})
	return pub, err
}
