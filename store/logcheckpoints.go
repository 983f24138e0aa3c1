package store

import (
	"bytes"
	"encoding/binary"
)

// CheckpointBefore returns the newest stored checkpoint whose size is
// below size, with ok false if there is none. With LatestCheckpoint it
// lets a reader walk the stored checkpoints from the newest backwards.
func (v *boltView) CheckpointBefore(size uint64) (uint64, []byte, bool) {
	c := v.tx.Bucket(bucketCheckpoints).Cursor()
	k, _ := c.Seek(u64(size))
	var val []byte
	if k == nil {
		k, val = c.Last()
	} else {
		k, val = c.Prev()
	}
	if k == nil || binary.BigEndian.Uint64(k) >= size {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(k), bytes.Clone(val), true
}
