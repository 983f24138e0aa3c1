package store

import (
	"context"
	"fmt"

	"github.com/truyxuat/truyxuat/trace"
)

// MaxAppendAll bounds the events of one AppendAll.
const MaxAppendAll = 1000

// AppendAll appends events to their batches' chains as one unit: they are
// checked and placed in order, each after the ones before it (two events
// of the same batch follow each other), and committed in one transaction
// with their transparency-log entries, or none is. It is for imports,
// where a document is recorded whole or not at all.
//
// An input of a TransformationEvent whose Hash is zero takes the head of
// its batch as it is when the events are placed, after the earlier events
// of the same call; a batch without events has no head, and the call is
// refused. Presigned requests are not accepted.
func (en *Engine) AppendAll(ctx context.Context, reqs []AppendRequest) ([]*StoredEvent, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	if len(reqs) > MaxAppendAll {
		return nil, fmt.Errorf("store: append %d events: at most %d at once: %w", len(reqs), MaxAppendAll, trace.ErrInvalid)
	}
	for i, r := range reqs {
		if r.Presigned != nil || r.Event == nil || r.Signer == nil {
			return nil, fmt.Errorf("store: append all: request %d needs an event and a signer (presigned events are appended one by one)", i)
		}
	}
	res, err := en.be.Submit(ctx, "", func(pl *Planner) (*Plan, error) { return en.prepareAll(pl, reqs) })
	if err != nil {
		return nil, fmt.Errorf("store: append %d events: %w", len(reqs), err)
	}
	return res.(*appendAllResult).events, nil
}

type appendAllResult struct{ events []*StoredEvent }

// prepareAll places the events. It works on its own copy of the heads it
// touches, so a refusal leaves the Planner's view as it was; only once
// every event is placed does the view move on.
func (en *Engine) prepareAll(pl *Planner, reqs []AppendRequest) (*Plan, error) {
	heads := map[string]head{}
	coops := map[string]string{}
	own := map[trace.Hash]string{} // this call's events → batch
	get := func(batch string) (string, head, error) {
		if h, ok := heads[batch]; ok {
			return coops[batch], h, nil
		}
		coop, h, err := pl.head(batch)
		if err != nil {
			return "", head{}, err
		}
		heads[batch], coops[batch] = h, coop
		return coop, h, nil
	}
	now := en.opts.Now().UTC()
	stored := make([]*StoredEvent, 0, len(reqs))
	for i, req := range reqs {
		e := req.Event
		fail := func(err error) (*Plan, error) { return nil, fmt.Errorf("event %d: %w", i, err) }
		coop, hd, err := get(e.Batch)
		if err != nil {
			return fail(err)
		}
		if err := checkFactsRule(e, false, hd); err != nil {
			return fail(err)
		}
		if e.Cooperative != coop {
			return fail(fmt.Errorf("batch %s belongs to cooperative %s, not %s: %w", e.Batch, coop, e.Cooperative, trace.ErrForbidden))
		}
		for j := range e.Inputs {
			in := &e.Inputs[j]
			field := fmt.Sprintf("inputs[%d]", j)
			if in.Batch == e.Batch {
				return fail(&trace.FieldError{Field: field + ".batch", Reason: "a batch cannot be an input of itself"})
			}
			if in.Hash.IsZero() {
				_, ih, err := get(in.Batch)
				if err != nil {
					return fail(fmt.Errorf("%s: %w", field, err))
				}
				if ih.n == 0 {
					return fail(&trace.FieldError{Field: field + ".batch", Reason: fmt.Sprintf("batch %s has no events yet, so there is no head to link to", in.Batch)})
				}
				in.Hash = ih.h
				continue
			}
			if _, _, err := get(in.Batch); err != nil {
				return fail(fmt.Errorf("%s: %w", field, err))
			}
			b, ok := own[in.Hash]
			if !ok {
				if b, ok, err = pl.eventBatch(in.Hash); err != nil {
					return fail(fmt.Errorf("%s: %w", field, err))
				}
			}
			if !ok {
				return fail(fmt.Errorf("%s: event %s of batch %s: %w", field, in.Hash, in.Batch, trace.ErrNotFound))
			}
			if b != in.Batch {
				return fail(&trace.FieldError{Field: field + ".hash", Reason: fmt.Sprintf("event %s is not an event of batch %s", in.Hash, in.Batch)})
			}
		}
		if e.Type == trace.TransformationEvent {
			// The lots it takes from count what earlier events of
			// this call took.
			earlier := make([]*trace.SignedEvent, len(stored))
			for k, s := range stored {
				earlier[k] = s.SignedEvent
			}
			if err := pl.checkDraws(e, earlier); err != nil {
				return fail(err)
			}
		}
		e.Seq, e.Prev = hd.n, hd.h
		se, err := trace.Prepare(e)
		if err != nil {
			return fail(err)
		}
		heads[e.Batch] = head{n: e.Seq + 1, h: se.Hash}
		own[se.Hash] = e.Batch
		stored = append(stored, &StoredEvent{SignedEvent: se, ReceivedAt: now, KeyID: req.KeyID})
	}
	for b, h := range heads {
		pl.heads[b] = h
	}
	for _, s := range stored {
		if s.Event.Type == trace.TransformationEvent {
			pl.transforms[s.Hash] = s.Event
		}
	}
	// The hashes are not added to pl.hashes: nobody can name these events
	// as inputs before they are committed and their hashes returned.
	p := &Plan{Result: &appendAllResult{events: stored}, Events: stored}
	p.Sign = func() {
		for i, s := range stored {
			reqs[i].Signer.Seal(s.SignedEvent)
		}
	}
	p.Write = func(sink Sink) error {
		for _, s := range stored {
			if err := sink.PutEvent(s); err != nil {
				return err
			}
		}
		return nil
	}
	return p, nil
}
