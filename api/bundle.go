package api

import (
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// Reasons a history's log proofs fail, beside trace's reasons.
const (
	// ReasonNotInLog: the event's inclusion proof does not lead to the
	// checkpoint's root, or the event has no log index.
	ReasonNotInLog trace.VerifyReason = "not in log"
	// ReasonNotYetLogged: the event is newer than the history's
	// checkpoint, so nothing proves yet that it is in the log.
	ReasonNotYetLogged trace.VerifyReason = "not yet logged"
)

// CheckpointError says why a history's checkpoint was not accepted. It
// matches trace.ErrVerification.
type CheckpointError struct{ Err error }

func (e *CheckpointError) Error() string   { return "checkpoint: " + e.Err.Error() }
func (e *CheckpointError) Unwrap() []error { return []error{e.Err, trace.ErrVerification} }

// BundleCheck says what an offline check of a saved history trusts.
type BundleCheck struct {
	// CooperativeKeys are the Ed25519 keys the events must be signed
	// with (the cooperative's and any inspectors'); nil means the keys the
	// history itself lists: the cooperative's and those of the inspectors
	// who signed events in it.
	CooperativeKeys [][]byte
	// RecordKeys are the keys the product's and the cooperative's signed
	// records must be signed with; nil means CooperativeKeys when those
	// are given, else the cooperative's keys the history lists.
	RecordKeys [][]byte
	// Log, if not nil, verifies the history's checkpoint (the log's
	// pinned keys and, optionally, a witness policy), and every event's
	// inclusion proof is checked against it.
	Log *tlog.CheckpointVerifier
}

// BundleResult is what a history that passes VerifyBundle proves.
type BundleResult struct {
	// Signed are the verified events, in order.
	Signed []*trace.SignedEvent
	// Checkpoint is the verified checkpoint (nil without BundleCheck.Log).
	Checkpoint *tlog.Checkpoint
	// Cosigners names the witnesses of the policy whose cosignature
	// verified.
	Cosigners []string
	// Pending lists the positions of events newer than the checkpoint:
	// signed and chained, but not yet provably in the log.
	Pending []int
	// Unsigned lists the readable fields no signature covers (History.Unsigned).
	Unsigned []string
	// PendingRecords names the registry records newer than the checkpoint.
	PendingRecords []string
}

// VerifyBundle checks a saved history (the JSON the resolver paths serve)
// without trusting the server that produced it: every event's canonical
// bytes, hash, chain link and signature, that the readable fields say what
// the signed bytes say, and, with chk.Log, the checkpoint's signatures
// and each event's log entry and inclusion proof. A failing event is
// reported as a *trace.VerifyError naming it; a bad checkpoint as a
// *CheckpointError.
func VerifyBundle(h *History, chk BundleCheck) (*BundleResult, error) {
	keys := chk.CooperativeKeys
	recordKeys := chk.RecordKeys
	if keys == nil {
		for i, k := range h.Cooperative.PublicKeys {
			b, err := base64.StdEncoding.DecodeString(k)
			if err != nil {
				return nil, &trace.FieldError{Field: fmt.Sprintf("cooperative.public_keys[%d]", i), Reason: "is not base64"}
			}
			keys = append(keys, b)
		}
		if recordKeys == nil {
			recordKeys = slices.Clone(keys)
		}
		for i, in := range h.Inspectors {
			for j, k := range in.PublicKeys {
				b, err := base64.StdEncoding.DecodeString(k)
				if err != nil {
					return nil, &trace.FieldError{Field: fmt.Sprintf("inspectors[%d].public_keys[%d]", i, j), Reason: "is not base64"}
				}
				keys = append(keys, b)
			}
		}
	}
	signed := make([]*trace.SignedEvent, len(h.Events))
	for i, ev := range h.Events {
		se, err := ev.signed()
		if err != nil {
			return nil, &trace.VerifyError{Index: i, Hash: ev.Hash, Reason: trace.ReasonMalformed, Detail: err.Error()}
		}
		signed[i] = se
	}
	if err := trace.VerifyHistory(h.Batch.ID, signed, func(string) [][]byte { return keys }); err != nil {
		return nil, err
	}
	for i, ev := range h.Events {
		if err := ev.matches(signed[i]); err != nil {
			return nil, &trace.VerifyError{Index: i, Hash: ev.Hash, Reason: trace.ReasonMalformed, Detail: err.Error()}
		}
	}
	if recordKeys == nil {
		recordKeys = keys
	}
	unsigned, err := checkSigned(h, signed, recordKeys)
	if err != nil {
		return nil, err
	}
	res := &BundleResult{Signed: signed, Unsigned: unsigned}
	if chk.Log == nil {
		return res, nil
	}
	c, n, pending, err := checkLog(h, signed, chk.Log)
	if err != nil {
		return nil, err
	}
	res.Checkpoint, res.Pending = c, pending
	if c != nil {
		if res.PendingRecords, err = checkRecordsInLog(h, c); err != nil {
			return nil, err
		}
	}
	if p := chk.Log.Witnesses; p != nil && n != nil {
		for _, w := range p.Witnesses {
			if v, err := w.Key.Verifier(); err == nil {
				if _, err := n.Verify(v); err == nil {
					res.Cosigners = append(res.Cosigners, w.Name)
				}
			}
		}
	}
	return res, nil
}

// checkLog verifies a history's checkpoint with cv and every event's
// inclusion proof against it. It returns the checkpoint (nil for a history
// without events and without a checkpoint) and the positions of events
// newer than it.
func checkLog(h *History, signed []*trace.SignedEvent, cv *tlog.CheckpointVerifier) (*tlog.Checkpoint, *tlog.Note, []int, error) {
	if h.Checkpoint == "" {
		if len(h.Events) == 0 {
			return nil, nil, nil, nil
		}
		return nil, nil, nil, &CheckpointError{fmt.Errorf("the history has no checkpoint, so nothing shows its events are in the log")}
	}
	c, n, err := cv.Open([]byte(h.Checkpoint))
	if err != nil {
		return nil, nil, nil, &CheckpointError{err}
	}
	var pending []int
	for i, ev := range h.Events {
		fail := func(r trace.VerifyReason, format string, args ...any) error {
			return &trace.VerifyError{Index: i, Hash: ev.Hash, Reason: r, Detail: fmt.Sprintf(format, args...)}
		}
		if ev.LogIndex == nil {
			return nil, nil, nil, fail(ReasonNotInLog, "the event carries no log index")
		}
		index := *ev.LogIndex
		if index >= c.Size {
			pending = append(pending, i)
			continue
		}
		proof := make([]tlog.Hash, len(ev.InclusionProof))
		for j, s := range ev.InclusionProof {
			if proof[j], err = tlog.ParseHash(s); err != nil {
				return nil, nil, nil, fail(ReasonNotInLog, "inclusion_proof[%d] is not a base64 hash", j)
			}
		}
		leaf := tlog.LeafHash(trace.LogEntry(signed[i]))
		if err := tlog.VerifyInclusion(leaf, index, c.Size, proof, c.Root); err != nil {
			return nil, nil, nil, fail(ReasonNotInLog, "the inclusion proof of log entry %d does not lead to the root of checkpoint %s/%d: %v", index, c.Origin, c.Size, err)
		}
	}
	return &c, n, pending, nil
}

// ownCheckpointVerifier verifies checkpoints with this server's own log
// keys (both required), or is nil if the server has none configured.
func (s *Server) ownCheckpointVerifier() *tlog.CheckpointVerifier {
	l := s.logInfo()
	if s.cfg.Log.Origin == "" || len(l.logs) == 0 {
		return nil
	}
	return &tlog.CheckpointVerifier{Origin: s.cfg.Log.Origin, Log: l.logs}
}

// checkRecordsInLog checks the inclusion proofs of a history's registry
// records against its verified checkpoint, and returns the records newer
// than it.
func checkRecordsInLog(h *History, c *tlog.Checkpoint) ([]string, error) {
	var pending []string
	for _, r := range h.records() {
		name := r.Kind + " " + r.ID
		fail := func(format string, args ...any) error {
			return &trace.VerifyError{Index: int(r.Seq), Hash: r.Hash, Reason: ReasonNotInLog, Record: name, Detail: fmt.Sprintf(format, args...)}
		}
		if r.LogIndex == nil {
			return nil, fail("the record carries no log index")
		}
		if *r.LogIndex >= c.Size {
			pending = append(pending, name)
			continue
		}
		sr, err := r.open(name)
		if err != nil {
			return nil, err
		}
		proof := make([]tlog.Hash, len(r.InclusionProof))
		for j, p := range r.InclusionProof {
			if proof[j], err = tlog.ParseHash(p); err != nil {
				return nil, fail("inclusion_proof[%d] is not a base64 hash", j)
			}
		}
		if err := tlog.VerifyInclusion(tlog.LeafHash(sr.LogEntry()), *r.LogIndex, c.Size, proof, c.Root); err != nil {
			return nil, fail("the inclusion proof of log entry %d does not lead to the root of checkpoint %s/%d: %v", *r.LogIndex, c.Origin, c.Size, err)
		}
	}
	return pending, nil
}
