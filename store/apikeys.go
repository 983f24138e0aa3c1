package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// Role is what an API key may do.
type Role string

// The roles of API keys.
const (
	RoleAdmin       Role = "admin"       // creates cooperatives and inspectors
	RoleCooperative Role = "cooperative" // writes its own cooperative's products, batches and events
	RoleInspector   Role = "inspector"   // reads everything, records inspections
	// RoleAgency is a provincial agency's: it reads, and only reads, the
	// registries of the cooperatives of its province (Province).
	RoleAgency Role = "agency"
)

// validProvinceCode reports whether s has the form of a province code (two
// digits); whether the province exists is the caller's to check.
func validProvinceCode(s string) bool {
	return len(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'
}

// APIKeyPrefix starts every API key secret, so a leaked key is easy to spot.
const APIKeyPrefix = "txk_"

// APIKey is a stored API key. The secret itself is never stored: only its
// SHA-256 (secrets are 256 random bits, so a fast hash is enough).
type APIKey struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Role          Role       `json:"role"`
	CooperativeID string     `json:"cooperative_id,omitempty"`
	InspectorID   string     `json:"inspector_id,omitempty"` // an inspector key's inspector; without one it reads findings but signs nothing
	Province      string     `json:"province,omitempty"`     // an agency key's province code (adminunits)
	CreatedAt     time.Time  `json:"created_at"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// HashSecret is what a store keeps of an API key's secret: its SHA-256.
func HashSecret(secret string) []byte { return hashSecret(secret) }

// NewAPIKey checks a key about to be created, sets what its role implies
// and its creation time, and makes its secret, which is shown to its
// owner once and never again. Whether its cooperative or inspector
// exists is the store's to check.
func NewAPIKey(k *APIKey, now time.Time) (secret string, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("store: create API key: %w", err)
	}
	secret = APIKeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	switch k.Role {
	case RoleAdmin:
		k.CooperativeID, k.InspectorID, k.Province = "", "", ""
	case RoleInspector:
		k.CooperativeID, k.Province = "", ""
	case RoleCooperative:
		k.InspectorID, k.Province = "", ""
		if k.CooperativeID == "" {
			return "", &trace.FieldError{Field: "cooperative_id", Reason: "a cooperative key needs its cooperative"}
		}
	case RoleAgency:
		k.CooperativeID, k.InspectorID = "", ""
		if !validProvinceCode(k.Province) {
			return "", &trace.FieldError{Field: "province", Reason: "an agency key needs its province's code, 2 digits such as 92"}
		}
	default:
		return "", &trace.FieldError{Field: "role", Reason: fmt.Sprintf("unknown role %q; use admin, cooperative, inspector or agency", k.Role)}
	}
	if err := trace.ValidateText("name", k.Name, trace.MaxNameLen, false); err != nil {
		return "", err
	}
	k.CreatedAt = now.UTC()
	k.RevokedAt = nil
	return secret, nil
}

// CreateAPIKey makes a new key and returns its secret, which is shown to
// its owner once and never again.
func (db *DB) CreateAPIKey(k *APIKey) (secret string, err error) {
	if secret, err = NewAPIKey(k, db.opts.Now()); err != nil {
		return "", err
	}
	err = db.update(func(tx *bolt.Tx) error {
		if k.CooperativeID != "" && tx.Bucket(bucketCoops).Get([]byte(k.CooperativeID)) == nil {
			return fmt.Errorf("cooperative %s: %w", k.CooperativeID, trace.ErrNotFound)
		}
		if k.InspectorID != "" && tx.Bucket(bucketInspectors).Get([]byte(k.InspectorID)) == nil {
			return fmt.Errorf("inspector %s: %w", k.InspectorID, trace.ErrNotFound)
		}
		ids := tx.Bucket(bucketAPIKeyIDs)
		k.ID = uniqueID(ids, "key-"+NewID()[:8])
		h := hashSecret(secret)
		if err := ids.Put([]byte(k.ID), h); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketAPIKeys), string(h), k)
	})
	if err != nil {
		return "", fmt.Errorf("store: create API key: %w", err)
	}
	return secret, nil
}

// Authenticate returns the live key whose secret this is.
func (db *DB) Authenticate(secret string) (*APIKey, error) {
	if err := CheckSecretForm(secret); err != nil {
		return nil, err
	}
	h := hashSecret(secret)
	// Live keys are remembered, by the hash of their secret: every write
	// of the API authenticates, and a key changes only when it is revoked,
	// which forgets it at once (RevokeAPIKey), before the revocation is
	// acknowledged.
	if k, ok := db.keyCache.Load(string(h)); ok {
		c := *k.(*APIKey)
		return &c, nil
	}
	epoch := db.keyEpoch.Load()
	var k APIKey
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAPIKeys).Get(h)
		if v == nil {
			return ErrUnknownAPIKey
		}
		return json.Unmarshal(v, &k)
	})
	if err != nil {
		return nil, err
	}
	if err := CheckLive(&k); err != nil {
		return nil, err
	}
	// Remembered only if no revocation happened since the read began, so a
	// key read just before its revocation is never remembered after it.
	db.keyMu.Lock()
	if db.keyEpoch.Load() == epoch {
		c := k
		db.keyCache.Store(string(h), &c)
	}
	db.keyMu.Unlock()
	return &k, nil
}

// APIKeys lists keys, those of one cooperative when cooperativeID is not empty.
func (db *DB) APIKeys(cooperativeID string) ([]*APIKey, error) {
	var out []*APIKey
	err := db.bolt.View(func(tx *bolt.Tx) error {
		keys := tx.Bucket(bucketAPIKeys)
		return tx.Bucket(bucketAPIKeyIDs).ForEach(func(id, h []byte) error {
			var k APIKey
			if err := json.Unmarshal(keys.Get(h), &k); err != nil {
				return fmt.Errorf("API key %s: %w", id, err)
			}
			if cooperativeID == "" || k.CooperativeID == cooperativeID {
				out = append(out, &k)
			}
			return nil
		})
	})
	return out, err
}

// APIKey returns one key's record (never its secret).
func (db *DB) APIKey(id string) (*APIKey, error) {
	var k APIKey
	err := db.bolt.View(func(tx *bolt.Tx) error {
		h := tx.Bucket(bucketAPIKeyIDs).Get([]byte(id))
		if h == nil {
			return fmt.Errorf("API key %s: %w", id, trace.ErrNotFound)
		}
		return json.Unmarshal(tx.Bucket(bucketAPIKeys).Get(h), &k)
	})
	return &k, err
}

// RevokeAPIKey stops a key from working. Revoking twice is not an error.
// The last live admin key cannot be revoked: nobody could then create
// cooperatives, inspectors or admin keys.
func (db *DB) RevokeAPIKey(id string) (*APIKey, error) {
	var k APIKey
	err := db.update(func(tx *bolt.Tx) error {
		h := tx.Bucket(bucketAPIKeyIDs).Get([]byte(id))
		if h == nil {
			return fmt.Errorf("API key %s: %w", id, trace.ErrNotFound)
		}
		keys := tx.Bucket(bucketAPIKeys)
		if err := json.Unmarshal(keys.Get(h), &k); err != nil {
			return err
		}
		if k.Role == RoleAdmin && k.RevokedAt == nil {
			live := 0
			err := keys.ForEach(func(_, v []byte) error {
				var o APIKey
				if err := json.Unmarshal(v, &o); err != nil {
					return err
				}
				if o.Role == RoleAdmin && o.RevokedAt == nil {
					live++
				}
				return nil
			})
			if err != nil {
				return err
			}
			if live <= 1 {
				return LastAdminKeyError(id)
			}
		}
		if k.RevokedAt == nil {
			now := db.opts.Now().UTC()
			k.RevokedAt = &now
		}
		return putJSON(keys, string(h), &k)
	})
	if err == nil {
		db.forgetKeys()
	}
	return &k, err
}

// forgetKeys empties the cache of live keys (after a revocation).
func (db *DB) forgetKeys() {
	db.keyMu.Lock()
	db.keyEpoch.Add(1)
	db.keyCache.Clear()
	db.keyMu.Unlock()
}

// HasAdminKey reports whether any live admin key exists.
func (db *DB) HasAdminKey() (bool, error) {
	keys, err := db.APIKeys("")
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.Role == RoleAdmin && k.RevokedAt == nil {
			return true, nil
		}
	}
	return false, nil
}

// CheckSecretForm refuses what cannot be an API key's secret.
func CheckSecretForm(secret string) error {
	if !strings.HasPrefix(secret, APIKeyPrefix) || len(secret) > 100 {
		return fmt.Errorf("not a truyxuat API key: %w", trace.ErrUnauthenticated)
	}
	return nil
}

// CheckLive refuses a revoked key.
func CheckLive(k *APIKey) error {
	if k.RevokedAt != nil {
		return fmt.Errorf("API key %s was revoked: %w", k.ID, trace.ErrUnauthenticated)
	}
	return nil
}

// LastAdminKeyError refuses to revoke the last live admin key: nobody
// could then create cooperatives, inspectors or admin keys.
func LastAdminKeyError(id string) error {
	return fmt.Errorf("API key %s is the last live admin key; create another admin key first: %w", id, trace.ErrConflict)
}

// ErrUnknownAPIKey is the error for a secret no stored key has.
var ErrUnknownAPIKey = fmt.Errorf("unknown API key: %w", trace.ErrUnauthenticated)
