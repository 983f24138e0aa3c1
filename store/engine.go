package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/truyxuat/truyxuat/trace"
)

// Engine holds the write rules of Store that every implementation shares:
// appends and their chains, new batches and changes made as a whole, the
// registry's signed records, and the signing keys the service holds for
// cooperatives. An implementation embeds it and gives it a Backend: its
// reads of the committed state and its group committer.
type Engine struct {
	opts    Options
	log     *slog.Logger
	keys    Keys
	be      Backend
	signers sync.Map // cooperative id → its *trace.Signer, once registered
}

// Backend is what an implementation of Store gives its Engine.
type Backend interface {
	// Committed reads the committed state for the checks made before a
	// request is queued (a Planner reads it again when placing it).
	Committed
	Cooperative(id string) (*trace.Cooperative, error)
	Batch(id string) (*trace.Batch, error)
	AddCooperativeKey(id string, pub []byte, first bool) (*trace.Cooperative, bool, error)
	// Submit queues prepare for the group committer and returns the
	// plan's Result once it is durably committed, or why it was refused.
	// batch names the batch whose head the request builds on ("" for
	// none), for a committer that reads heads ahead.
	Submit(ctx context.Context, batch string, prepare Prepare) (any, error)
}

// NewEngine returns the write rules over be, signing with the keys the
// service holds. opts gives Now, Location and Logger (defaults as Open's).
func NewEngine(be Backend, keys Keys, opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.FixedZone("ICT", 7*3600)
	}
	return &Engine{opts: opts, log: opts.Logger, keys: keys, be: be}
}

// Keys returns the signing keys the store signs with.
func (en *Engine) Keys() Keys { return en.keys }

// SignerFor returns the signing key the server holds for a cooperative
// and makes sure its public key is registered on the cooperative (first,
// before any keys the cooperative registered itself).
func (en *Engine) SignerFor(coopID string) (*trace.Signer, error) {
	// Keys are only ever added to a cooperative: once the server's key is
	// registered, it stays.
	if s, ok := en.signers.Load(coopID); ok {
		return s.(*trace.Signer), nil
	}
	signer, err := en.keys.Signer(coopID)
	if err != nil {
		return nil, err
	}
	c, err := en.be.Cooperative(coopID)
	if err != nil {
		return nil, err
	}
	if !trace.HasKey(c.PublicKeys, signer.PublicKey()) {
		if _, _, err := en.be.AddCooperativeKey(coopID, signer.PublicKey(), true); err != nil {
			return nil, err
		}
	}
	en.signers.Store(coopID, signer)
	return signer, nil
}

// uniqueID returns base, or base with a numeric suffix, that no stored
// cooperative or product has yet. An empty base becomes a random id.
func (en *Engine) uniqueID(kind Entity, base string) (string, error) {
	if base == "" {
		base = NewID()
	}
	id := base
	for i := 2; ; i++ {
		taken, err := en.be.Exists(kind, id)
		if err != nil || !taken {
			return id, err
		}
		id = fmt.Sprintf("%s-%d", base, i)
	}
}

// checkMember checks that a lot's member household is a current member
// of its cooperative's registry (no member is fine).
func (en *Engine) checkMember(coop, member string) error {
	return checkMemberIn(en.be, coop, member)
}

func checkMemberIn(src Committed, coop, member string) error {
	if member == "" {
		return nil
	}
	sr, err := src.NewestRecord(trace.KindMember, member)
	if err != nil {
		return err
	}
	switch {
	case sr == nil || sr.Record.Cooperative != coop:
		return &trace.FieldError{Field: "member", Reason: fmt.Sprintf("the cooperative's registry has no member %s", member)}
	case sr.Record.Removed():
		return &trace.FieldError{Field: "member", Reason: fmt.Sprintf("member %s was removed from the registry on %s", member, sr.Record.Fields["removed"])}
	}
	return nil
}
