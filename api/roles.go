package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/adminunits"
)

// People and their keys: an API key per person, with its role; inspectors
// with their own signing keys, whose inspections go into a batch's chain
// signed by them; and cooperatives that sign their own events with a key
// the server never sees.

func (s *Server) roleRoutes(v1, admin, coop, inspectors *echo.Group) {
	v1.GET("/inspectors", s.listInspectors)
	v1.GET("/inspectors/:id", s.getInspector)
	admin.POST("/inspectors", s.createInspector)
	inspectors.POST("/batches/:id/inspections", s.recordInspection)

	coop.POST("/keys", s.createKey)
	coop.GET("/keys", s.listKeys)
	coop.DELETE("/keys/:id", s.revokeKey)

	coop.POST("/cooperatives/:id/public-keys", s.registerPublicKey)
	coop.POST("/batches/:id/events/signed", s.appendSigned)
}

// Inspector is the public view of an inspector.
type Inspector struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Agency     string    `json:"agency"`
	PublicKeys []string  `json:"public_keys"` // base64 Ed25519 public keys
	CreatedAt  time.Time `json:"created_at"`
}

func toInspector(in *trace.Inspector) Inspector {
	keys := make([]string, len(in.PublicKeys))
	for i, k := range in.PublicKeys {
		keys[i] = base64.StdEncoding.EncodeToString(k)
	}
	return Inspector{ID: in.ID, Name: in.Name, Agency: in.Agency, PublicKeys: keys, CreatedAt: in.CreatedAt}
}

// CreateInspectorRequest is the body of POST /api/v1/inspectors.
type CreateInspectorRequest struct {
	ID     string `json:"id,omitempty"`
	Name   string `json:"name"`
	Agency string `json:"agency"`
}

// CreateInspectorResponse is the answer to POST /api/v1/inspectors.
type CreateInspectorResponse struct {
	Inspector Inspector `json:"inspector"`
	APIKey    NewAPIKey `json:"api_key"`
}

func (s *Server) createInspector(c echo.Context) error {
	var req CreateInspectorRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	in := &trace.Inspector{ID: req.ID, Name: req.Name, Agency: req.Agency}
	if err := s.db.CreateInspector(in); err != nil {
		return err
	}
	if _, err := s.InspectorSigner(in); err != nil {
		return err
	}
	k := &store.APIKey{Name: in.Name, Role: store.RoleInspector, InspectorID: in.ID}
	secret, err := s.db.CreateAPIKey(k)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/inspectors/"+in.ID)
	return c.JSON(http.StatusCreated, CreateInspectorResponse{Inspector: toInspector(in),
		APIKey: NewAPIKey{ID: k.ID, Secret: secret, Role: string(store.RoleInspector)}})
}

// inspectorSigner returns the inspector's signing key, creating it if
// needed, and makes sure its public key is registered on the inspector.
func (s *Server) InspectorSigner(in *trace.Inspector) (*trace.Signer, error) {
	signer, err := s.keys.Signer(store.InspectorKeyName(in.ID))
	if err != nil {
		return nil, err
	}
	if !trace.HasKey(in.PublicKeys, signer.PublicKey()) {
		updated, _, err := s.db.AddInspectorKey(in.ID, signer.PublicKey())
		if err != nil {
			return nil, err
		}
		in.PublicKeys = updated.PublicKeys
	}
	return signer, nil
}

func (s *Server) listInspectors(c echo.Context) error {
	ins, err := s.db.Inspectors()
	if err != nil {
		return err
	}
	out := make([]Inspector, 0, len(ins))
	for _, in := range ins {
		out = append(out, toInspector(in))
	}
	return c.JSON(http.StatusOK, map[string]any{"inspectors": out})
}

func (s *Server) getInspector(c echo.Context) error {
	in, err := s.db.Inspector(c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toInspector(in))
}

// callerInspector returns the inspector whose key made the request, or an
// error if the key is not a registered inspector's.
func (s *Server) callerInspector(c echo.Context) (*trace.Inspector, error) {
	k := caller(c)
	if k == nil {
		return nil, trace.ErrUnauthenticated
	}
	if k.Role != store.RoleInspector {
		return nil, fmt.Errorf("only an inspector's key records inspections, not a %s key: %w", k.Role, trace.ErrForbidden)
	}
	if k.InspectorID == "" {
		return nil, fmt.Errorf("API key %s belongs to no registered inspector, so there is no key to sign with; an admin registers inspectors with POST /api/v1/inspectors: %w", k.ID, trace.ErrForbidden)
	}
	in, err := s.db.Inspector(k.InspectorID)
	if errors.Is(err, trace.ErrNotFound) {
		return nil, fmt.Errorf("inspector %s of API key %s is not registered: %w", k.InspectorID, k.ID, trace.ErrForbidden)
	}
	return in, err
}

// chainKeys returns the keys whose signatures count on a cooperative's
// chains: the cooperative's own and every registered inspector's; and the
// inspectors.
func (s *Server) chainKeys(coop *trace.Cooperative) ([][]byte, []*trace.Inspector, error) {
	ins, err := s.db.Inspectors()
	if err != nil {
		return nil, nil, err
	}
	return keysWith(coop.PublicKeys, ins), ins, nil
}

func keysWith(coopKeys [][]byte, ins []*trace.Inspector) [][]byte {
	keys := slices.Clone(coopKeys)
	for _, in := range ins {
		keys = append(keys, in.PublicKeys...)
	}
	return keys
}

// signersOf lists the inspectors who signed any of the events, in the
// order of their first event. A key of the cooperative is the
// cooperative's, even if an inspector registered it too.
func signersOf(coop *trace.Cooperative, ins []*trace.Inspector, events []*store.StoredEvent) []Inspector {
	var out []Inspector
	seen := map[string]bool{}
	for _, st := range events {
		if trace.HasKey(coop.PublicKeys, st.Signer) {
			continue
		}
		for _, in := range ins {
			if !seen[in.ID] && trace.HasKey(in.PublicKeys, st.Signer) {
				seen[in.ID] = true
				out = append(out, toInspector(in))
			}
		}
	}
	return out
}

// InspectionRequest records an inspection or a sampling of a batch.
type InspectionRequest struct {
	// BizStep is inspecting (the default) or sampling.
	BizStep string `json:"biz_step,omitempty"`
	// Disposition is the result: conformant or non_conformant.
	Disposition string            `json:"disposition"`
	EventTime   string            `json:"event_time,omitempty"`
	Note        string            `json:"note,omitempty"`
	Quantity    *Quantity         `json:"quantity,omitempty"` // of a sample
	Attachments []Attachment      `json:"attachments,omitempty"`
	Data        map[string]string `json:"data,omitempty"`
}

func (s *Server) recordInspection(c echo.Context) error {
	if _, err := s.callerInspector(c); err != nil {
		return err
	}
	var r InspectionRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	st, err := s.InspectionFor(c, c.Param("id"), &r)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/events/"+st.Hash.String())
	return c.JSON(http.StatusCreated, toEvent(st))
}

// inspectionFor records an inspection or sampling of a batch, signed by
// the calling inspector (the API and the workspace).
func (s *Server) InspectionFor(c echo.Context, batchID string, r *InspectionRequest) (*store.StoredEvent, error) {
	in, err := s.callerInspector(c)
	if err != nil {
		return nil, err
	}
	if r.BizStep == "" {
		r.BizStep = "inspecting"
	}
	var v trace.ValidationError
	if !slices.Contains(trace.InspectionSteps, r.BizStep) {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "biz_step", Reason: fmt.Sprintf("an inspection is %s, got %q", strings.Join(trace.InspectionSteps, " or "), r.BizStep)})
	}
	if !slices.Contains(trace.InspectionResults, r.Disposition) {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "disposition", Reason: fmt.Sprintf("give the result: %s, got %q", strings.Join(trace.InspectionResults, " or "), r.Disposition)})
	}
	if len(v.Fields) > 0 {
		return nil, &v
	}
	bt, err := s.db.Batch(batchID)
	if err != nil {
		return nil, err
	}
	f := EventFields{Type: string(trace.ObjectEvent), Action: "OBSERVE", BizStep: r.BizStep, Disposition: r.Disposition,
		EventTime: r.EventTime, Note: r.Note, Quantity: r.Quantity, Attachments: r.Attachments, Data: r.Data}
	e, err := f.domain(bt, s.now().In(s.cfg.Location))
	if err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkAttachments(e); err != nil {
		return nil, err
	}
	signer, err := s.InspectorSigner(in)
	if err != nil {
		return nil, err
	}
	st, err := s.db.Append(c.Request().Context(), store.AppendRequest{Event: e, Signer: signer, KeyID: caller(c).ID})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// CreateAPIKeyRequest is the body of POST /api/v1/keys.
type CreateAPIKeyRequest struct {
	Name          string `json:"name"`
	Role          string `json:"role,omitempty"` // default: cooperative for a cooperative's key
	CooperativeID string `json:"cooperative_id,omitempty"`
	InspectorID   string `json:"inspector_id,omitempty"`
	// Province is an agency key's province code (2 digits).
	Province string `json:"province,omitempty"`
}

// APIKeyInfo is what is known about an API key; never its secret.
type APIKeyInfo struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Role          string     `json:"role"`
	CooperativeID string     `json:"cooperative_id,omitempty"`
	InspectorID   string     `json:"inspector_id,omitempty"`
	Province      string     `json:"province,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
}

// CreateAPIKeyResponse is a new key with its secret, shown this once.
type CreateAPIKeyResponse struct {
	APIKeyInfo
	Secret string `json:"secret"`
}

func toAPIKeyInfo(k *store.APIKey) APIKeyInfo {
	return APIKeyInfo{ID: k.ID, Name: k.Name, Role: string(k.Role), CooperativeID: k.CooperativeID,
		InspectorID: k.InspectorID, Province: k.Province, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

func (s *Server) createKey(c echo.Context) error {
	var r CreateAPIKeyRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	k := caller(c)
	if k.Role == store.RoleCooperative {
		if r.Role == "" {
			r.Role = string(store.RoleCooperative)
		}
		if r.CooperativeID == "" {
			r.CooperativeID = k.CooperativeID
		}
		if r.Role != string(store.RoleCooperative) {
			return fmt.Errorf("a cooperative's key creates cooperative keys only, not %s keys: %w", r.Role, trace.ErrForbidden)
		}
		if r.CooperativeID != k.CooperativeID {
			return fmt.Errorf("this key creates keys for cooperative %s only, not %s: %w", k.CooperativeID, r.CooperativeID, trace.ErrForbidden)
		}
	}
	var v trace.ValidationError
	if name := strings.TrimSpace(r.Name); name == "" || name != r.Name {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "name", Reason: "name the person or device the key is for, without surrounding spaces"})
	}
	switch store.Role(r.Role) {
	case store.RoleAdmin, store.RoleInspector:
		if r.CooperativeID != "" {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "cooperative_id", Reason: "only a cooperative key belongs to a cooperative"})
		}
	case store.RoleCooperative:
		if r.CooperativeID == "" {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "cooperative_id", Reason: "a cooperative key needs its cooperative"})
		}
	case store.RoleAgency:
		if r.CooperativeID != "" {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "cooperative_id", Reason: "only a cooperative key belongs to a cooperative"})
		}
		if _, ok := adminunits.VN().Province(r.Province); !ok {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "province", Reason: fmt.Sprintf("an agency key needs the code of its province in the list of 2025, got %q", Clip(r.Province, 10))})
		}
	default:
		v.Fields = append(v.Fields, &trace.FieldError{Field: "role", Reason: fmt.Sprintf("must be admin, cooperative, inspector or agency, got %q", r.Role)})
	}
	if r.Province != "" && store.Role(r.Role) != store.RoleAgency {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "province", Reason: "only an agency key belongs to a province"})
	}
	if r.InspectorID != "" && store.Role(r.Role) != store.RoleInspector {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "inspector_id", Reason: "only an inspector key belongs to an inspector"})
	}
	if len(v.Fields) > 0 {
		return &v
	}
	nk := &store.APIKey{Name: r.Name, Role: store.Role(r.Role), CooperativeID: r.CooperativeID, InspectorID: r.InspectorID, Province: r.Province}
	secret, err := s.db.CreateAPIKey(nk)
	if errors.Is(err, trace.ErrNotFound) {
		field := "cooperative_id"
		if r.InspectorID != "" {
			field = "inspector_id"
		}
		return &trace.FieldError{Field: field, Reason: strings.TrimPrefix(err.Error(), "store: create API key: ")}
	} else if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/keys/"+nk.ID)
	return c.JSON(http.StatusCreated, CreateAPIKeyResponse{APIKeyInfo: toAPIKeyInfo(nk), Secret: secret})
}

func (s *Server) listKeys(c echo.Context) error {
	k := caller(c)
	coop := c.QueryParam("cooperative")
	if k.Role == store.RoleCooperative {
		if coop != "" && coop != k.CooperativeID {
			return fmt.Errorf("a cooperative's key lists the keys of cooperative %s only: %w", k.CooperativeID, trace.ErrForbidden)
		}
		coop = k.CooperativeID
	}
	keys, err := s.db.APIKeys(coop)
	if err != nil {
		return err
	}
	out := make([]APIKeyInfo, 0, len(keys))
	for _, k := range keys {
		out = append(out, toAPIKeyInfo(k))
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": out})
}

func (s *Server) revokeKey(c echo.Context) error {
	target, err := s.db.APIKey(c.Param("id"))
	if err != nil {
		return err
	}
	if k := caller(c); k.Role == store.RoleCooperative && (target.Role != store.RoleCooperative || target.CooperativeID != k.CooperativeID) {
		return fmt.Errorf("this key revokes keys of cooperative %s only: %w", k.CooperativeID, trace.ErrForbidden)
	}
	revoked, err := s.db.RevokeAPIKey(target.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIKeyInfo(revoked))
}

// RegisterPublicKeyRequest is the body of POST /api/v1/cooperatives/{id}/public-keys.
type RegisterPublicKeyRequest struct {
	PublicKey string `json:"public_key"` // base64 of a 32-byte Ed25519 public key
}

// strictB64 decodes standard base64 with padding, refusing anything else.
func strictB64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || s == "" {
		return nil, &trace.FieldError{Field: field, Reason: "must be standard base64 (RFC 4648, with padding)"}
	}
	return b, nil
}

func (s *Server) registerPublicKey(c echo.Context) error {
	id := c.Param("id")
	if err := mayWrite(c, id); err != nil {
		return err
	}
	var r RegisterPublicKeyRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	pub, err := strictB64("public_key", r.PublicKey)
	if err != nil {
		return err
	}
	if len(pub) != trace.PublicKeySize {
		return &trace.FieldError{Field: "public_key", Reason: fmt.Sprintf("an Ed25519 public key has %d bytes, got %d", trace.PublicKeySize, len(pub))}
	}
	ins, err := s.db.Inspectors()
	if err != nil {
		return err
	}
	for _, in := range ins {
		if trace.HasKey(in.PublicKeys, pub) {
			return fmt.Errorf("key %s is inspector %s's: %w", trace.KeyID(pub), in.ID, trace.ErrConflict)
		}
	}
	coop, added, err := s.db.AddCooperativeKey(id, pub, false)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if added {
		status = http.StatusCreated
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/cooperatives/"+coop.ID)
	return c.JSON(status, toCooperative(coop))
}

// SignedEventRequest is an event the cooperative signed itself: the body
// of POST /api/v1/batches/{id}/events/signed, as `truyxuat event sign`
// writes it.
type SignedEventRequest struct {
	Canonical string `json:"canonical"` // base64 of the canonical bytes (trace.Event.Encode)
	Signature string `json:"signature"` // base64 Ed25519 signature over those bytes
	Signer    string `json:"signer"`    // base64 Ed25519 public key, registered for the cooperative
}

// Open decodes the request strictly and checks the signature over the
// canonical bytes (not yet whose key it is).
func (r *SignedEventRequest) Open() (*trace.SignedEvent, error) {
	var v trace.ValidationError
	body, err1 := strictB64("canonical", r.Canonical)
	sig, err2 := strictB64("signature", r.Signature)
	signer, err3 := strictB64("signer", r.Signer)
	for _, err := range []error{err1, err2, err3} {
		var fe *trace.FieldError
		if errors.As(err, &fe) {
			v.Fields = append(v.Fields, fe)
		}
	}
	if len(v.Fields) > 0 {
		return nil, &v
	}
	se, err := trace.OpenEvent(body, sig, signer)
	if err != nil {
		var ve *trace.VerifyError
		if errors.As(err, &ve) {
			field := "signature"
			switch ve.Reason {
			case trace.ReasonMalformed:
				field = "canonical"
			case trace.ReasonUnknownKey:
				field = "signer"
			}
			return nil, &trace.FieldError{Field: field, Reason: ve.Detail}
		}
		return nil, err
	}
	return se, nil
}

func (s *Server) appendSigned(c echo.Context) error {
	var r SignedEventRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	bt, err := s.db.Batch(c.Param("id"))
	if err != nil {
		return err
	}
	if err := mayWrite(c, bt.CooperativeID); err != nil {
		return err
	}
	se, err := r.Open()
	if err != nil {
		return err
	}
	e := se.Event
	// Open reads what any signed event may hold; a new one must also
	// meet the rules for new input.
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Batch != bt.ID {
		return &trace.FieldError{Field: "canonical", Reason: fmt.Sprintf("the event is signed for batch %s, not %s", e.Batch, bt.ID)}
	}
	if e.Cooperative != bt.CooperativeID {
		return &trace.FieldError{Field: "canonical", Reason: fmt.Sprintf("the event names cooperative %s, but batch %s is cooperative %s's", e.Cooperative, bt.ID, bt.CooperativeID)}
	}
	coop, err := s.db.Cooperative(bt.CooperativeID)
	if err != nil {
		return err
	}
	if !trace.HasKey(coop.PublicKeys, se.Signer) {
		return fmt.Errorf("key %s is not registered for cooperative %s; register it first with POST /api/v1/cooperatives/%s/public-keys: %w",
			trace.KeyID(se.Signer), coop.ID, coop.ID, trace.ErrForbidden)
	}
	if err := s.checkAttachments(e); err != nil {
		return err
	}
	st, err := s.db.Append(c.Request().Context(), store.AppendRequest{Presigned: se, KeyID: caller(c).ID})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/events/"+st.Hash.String())
	return c.JSON(http.StatusCreated, toEvent(st))
}

// NewEvent builds the event a client's fields describe for a batch (whose
// ID and CooperativeID are all that is read), as POST
// /api/v1/batches/{id}/events would, and validates it. Seq and Prev are
// left for the caller to set. An empty event_time is now in +07:00.
func (f *EventFields) NewEvent(batch *trace.Batch, now time.Time) (*trace.Event, error) {
	e, err := f.domain(batch, now)
	if err != nil {
		return nil, err
	}
	return e, e.Validate()
}
