package tlog

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxConsistencyProofLines is the most consistency proof lines an
// add-checkpoint request may carry.
const MaxConsistencyProofLines = 63

// SizeContentType is the content type of a witness's 409 Conflict answer,
// whose body is the latest cosigned size in decimal and a newline.
const SizeContentType = "text/x.tlog.size"

// AddCheckpointRequest is the body of a C2SP tlog-witness add-checkpoint
// request:
//
//	old <size>\n
//	<base64 consistency proof hash>\n   (0 to 63 lines)
//	\n
//	<signed checkpoint note>
type AddCheckpointRequest struct {
	OldSize    uint64
	Proof      []Hash
	Checkpoint []byte
}

// Bytes formats the request body.
func (r *AddCheckpointRequest) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString("old ")
	b.WriteString(strconv.FormatUint(r.OldSize, 10))
	b.WriteByte('\n')
	for _, h := range r.Proof {
		b.WriteString(h.String())
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(r.Checkpoint)
	return b.Bytes()
}

// ParseAddCheckpointRequest parses an add-checkpoint body strictly: the old
// size in canonical decimal, at most 63 canonical base64 hashes, a blank
// line and a syntactically valid signed note (not yet verified). Errors wrap
// ErrMalformedRequest.
func ParseAddCheckpointRequest(body []byte) (*AddCheckpointRequest, error) {
	bad := func(why string) (*AddCheckpointRequest, error) {
		return nil, fmt.Errorf("%w: %s", ErrMalformedRequest, why)
	}
	rest, ok := bytes.CutPrefix(body, []byte("old "))
	if !ok {
		return bad(`first line must be "old <size>"`)
	}
	line, rest, ok := bytes.Cut(rest, []byte("\n"))
	if !ok {
		return bad("no newline after the old size")
	}
	old, ok := parseDecimal(string(line))
	if !ok {
		return bad("old size is not a canonical decimal")
	}
	r := &AddCheckpointRequest{OldSize: old, Proof: []Hash{}}
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return bad("no blank line before the checkpoint")
		}
		if len(line) == 0 {
			break
		}
		if len(r.Proof) == MaxConsistencyProofLines {
			return bad("more than 63 consistency proof lines")
		}
		h, err := ParseHash(string(line))
		if err != nil {
			return bad("consistency proof line is not a base64 hash")
		}
		r.Proof = append(r.Proof, h)
	}
	if _, err := ParseNote(rest); err != nil {
		return bad(err.Error())
	}
	r.Checkpoint = rest
	return r, nil
}

// TreeHead is a tree size and root hash, the state a witness keeps per log.
type TreeHead struct {
	Size uint64
	Root Hash
}

var (
	// ErrMalformedRequest: 400 Bad Request (including an old size larger
	// than the checkpoint's size).
	ErrMalformedRequest = errors.New("tlog: malformed add-checkpoint request")
	// ErrUnknownOrigin: 404 Not Found.
	ErrUnknownOrigin = errors.New("tlog: unknown log origin")
	// ErrLogSignature: 403 Forbidden; no trusted log signature verifies, or
	// one from a trusted key fails.
	ErrLogSignature = errors.New("tlog: checkpoint not signed by the log")
	// ErrConflict: 409 Conflict; the old size is not the latest cosigned
	// size, or the same size has another root hash.
	ErrConflict = errors.New("tlog: old size or root does not match the witness's latest")
	// ErrInconsistent: 422 Unprocessable Entity; the consistency proof does
	// not verify.
	ErrInconsistent = errors.New("tlog: consistency proof does not verify")
)

// WitnessError is the error AddCheckpoint returns for a rejected request.
// Status is the HTTP status to answer with. For 409 the answer's body is
// Body() with content type SizeContentType.
type WitnessError struct {
	Status int
	// LatestSize is the latest cosigned size (meaningful for 409).
	LatestSize uint64
	Err        error
}

func (e *WitnessError) Error() string { return fmt.Sprintf("witness: %d: %v", e.Status, e.Err) }
func (e *WitnessError) Unwrap() error { return e.Err }

// Body returns the answer body: for 409 the latest size and a newline,
// otherwise the error text and a newline.
func (e *WitnessError) Body() []byte {
	if e.Status == 409 {
		return []byte(strconv.FormatUint(e.LatestSize, 10) + "\n")
	}
	return []byte(e.Err.Error() + "\n")
}

func witnessErr(status int, kind error, format string, args ...any) *WitnessError {
	return &WitnessError{Status: status, Err: fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))}
}

// Witness holds a witness's keys. It keeps no state: the latest cosigned
// tree head per origin is the caller's to store.
type Witness struct {
	// Cosigners sign accepted checkpoints: keys of TypeCosignatureV1 and/or
	// TypeMLDSA44, each producing one line of the answer.
	Cosigners []Signer
	// Logs maps each known origin to the log's trusted verifiers.
	Logs map[string][]Verifier
}

// Cosigned is the result of an accepted add-checkpoint request.
type Cosigned struct {
	// Checkpoint is the accepted checkpoint; its Size and Root are the
	// new latest tree head to store for its Origin.
	Checkpoint Checkpoint
	// Note is the submitted signed checkpoint.
	Note []byte
	// Cosignatures is the 200 answer body: one signature line per cosigner.
	Cosignatures []byte
}

// Head returns the tree head to store.
func (c *Cosigned) Head() TreeHead { return TreeHead{c.Checkpoint.Size, c.Checkpoint.Root} }

// AddCheckpoint processes an add-checkpoint request body as C2SP
// tlog-witness specifies. latest returns the latest tree head the witness
// cosigned for an origin, with ok false if it never cosigned one (the
// expected old size is then 0).
//
// The caller must make reading the latest head, calling AddCheckpoint and
// storing Cosigned.Head() one atomic step (one store transaction, or a
// compare-and-swap on the size), and store it before answering.
//
// Errors for rejected requests are *WitnessError with the status to answer;
// an error from latest is returned as is (answer 500).
func (w *Witness) AddCheckpoint(body []byte, latest func(origin string) (head TreeHead, ok bool, err error)) (*Cosigned, error) {
	req, err := ParseAddCheckpointRequest(body)
	if err != nil {
		return nil, &WitnessError{Status: 400, Err: err}
	}
	n, err := ParseNote(req.Checkpoint)
	if err != nil {
		return nil, &WitnessError{Status: 400, Err: fmt.Errorf("%w: %v", ErrMalformedRequest, err)}
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, &WitnessError{Status: 400, Err: fmt.Errorf("%w: %v", ErrMalformedRequest, err)}
	}
	keys, ok := w.Logs[c.Origin]
	if !ok || len(keys) == 0 {
		return nil, witnessErr(404, ErrUnknownOrigin, "%q", c.Origin)
	}
	if _, err := n.Verify(keys...); err != nil {
		return nil, witnessErr(403, ErrLogSignature, "%v", err)
	}
	if req.OldSize > c.Size {
		return nil, witnessErr(400, ErrMalformedRequest, "old size %d exceeds checkpoint size %d", req.OldSize, c.Size)
	}
	head, ok, err := latest(c.Origin)
	if err != nil {
		return nil, err
	}
	if !ok {
		head = TreeHead{Size: 0, Root: EmptyRoot()}
	}
	if req.OldSize != head.Size {
		e := witnessErr(409, ErrConflict, "old size %d, latest cosigned size %d", req.OldSize, head.Size)
		e.LatestSize = head.Size
		return nil, e
	}
	if req.OldSize == c.Size && c.Root != head.Root {
		e := witnessErr(409, ErrConflict, "size %d already cosigned with another root", c.Size)
		e.LatestSize = head.Size
		return nil, e
	}
	if err := VerifyConsistency(req.OldSize, c.Size, req.Proof, head.Root, c.Root); err != nil {
		return nil, witnessErr(422, ErrInconsistent, "%v", err)
	}
	var lines strings.Builder
	for _, s := range w.Cosigners {
		sig, err := s.Sign([]byte(n.Text))
		if err != nil {
			return nil, err
		}
		lines.WriteString(Signature{Name: s.Name(), KeyHash: s.KeyHash(), Sig: sig}.Line())
	}
	return &Cosigned{Checkpoint: c, Note: req.Checkpoint, Cosignatures: []byte(lines.String())}, nil
}

// AddCosignatures adds a witness's answer (signature lines) to a signed
// note. Lines from the given witness verifiers are verified (one that fails
// is an error); lines from other keys are dropped. A line replaces an
// existing one with the same key name and ID. It returns the new note.
func AddCosignatures(signed, answer []byte, witnesses ...Verifier) ([]byte, error) {
	n, err := ParseNote(signed)
	if err != nil {
		return nil, err
	}
	sigs, err := ParseSignatureLines(answer)
	if err != nil {
		return nil, err
	}
	fresh := &Note{Text: n.Text, Sigs: sigs}
	ok, err := fresh.verify(witnesses)
	if err != nil {
		return nil, err
	}
	for _, s := range sigs {
		known := false
		for i, v := range witnesses {
			if ok[i] && v.Name() == s.Name && v.KeyHash() == s.KeyHash {
				known = true
			}
		}
		if !known {
			continue
		}
		kept := n.Sigs[:0:0]
		for _, old := range n.Sigs {
			if old.Name != s.Name || old.KeyHash != s.KeyHash {
				kept = append(kept, old)
			}
		}
		n.Sigs = append(kept, s)
	}
	if len(n.Sigs) > MaxNoteSignatures {
		return nil, malformed("more than %d signatures", MaxNoteSignatures)
	}
	return n.Bytes(), nil
}
