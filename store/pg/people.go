package pg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// API keys, people, sessions and idempotency keys, as the embedded store
// keeps them: the hashes of secrets only, the same documents.

func (db *DB) now() time.Time {
	if db.opts.Now != nil {
		return db.opts.Now()
	}
	return time.Now()
}

// CreateAPIKey makes a new key and returns its secret, which is shown to
// its owner once and never again.
func (db *DB) CreateAPIKey(k *store.APIKey) (string, error) {
	secret, err := store.NewAPIKey(k, db.now())
	if err != nil {
		return "", err
	}
	if err := db.writable(); err != nil {
		return "", err
	}
	err = db.write("store: create API key", func(ctx context.Context, tx pgx.Tx) error {
		if k.CooperativeID != "" {
			if ok, err := exists(ctx, tx, "cooperatives", k.CooperativeID); err != nil || !ok {
				return notFound(err, "cooperative", k.CooperativeID)
			}
		}
		if k.InspectorID != "" {
			if ok, err := exists(ctx, tx, "inspectors", k.InspectorID); err != nil || !ok {
				return notFound(err, "inspector", k.InspectorID)
			}
		}
		for {
			k.ID = "key-" + store.NewID()[:8]
			tag, err := tx.Exec(ctx, `INSERT INTO api_keys (id, secret_hash, cooperative_id, doc) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (id) DO NOTHING`,
				k.ID, store.HashSecret(secret), k.CooperativeID, mustJSON(k))
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				return nil
			}
		}
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

func exists(ctx context.Context, q querier, table, id string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT true FROM `+table+` WHERE id = $1`, id).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return ok, err
}

func notFound(err error, what, id string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s %s: %w", what, id, trace.ErrNotFound)
}

// Authenticate returns the live key whose secret this is. Live keys are
// remembered; a revocation on any node makes every node forget them.
func (db *DB) Authenticate(secret string) (*store.APIKey, error) {
	if err := store.CheckSecretForm(secret); err != nil {
		return nil, err
	}
	h := store.HashSecret(secret)
	if db.listening.Load() {
		if k, ok := db.keyCache.Load(string(h)); ok {
			c := *k.(*store.APIKey)
			return &c, nil
		}
	}
	epoch := db.keyEpoch.Load()
	var k store.APIKey
	err := db.read("", func(ctx context.Context, q querier) error {
		var doc string
		err := q.QueryRow(ctx, `SELECT doc::text FROM api_keys WHERE secret_hash = $1`, h).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrUnknownAPIKey
		}
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(doc), &k)
	})
	if err != nil {
		return nil, err
	}
	if err := store.CheckLive(&k); err != nil {
		return nil, err
	}
	db.keyMu.Lock()
	if db.keyEpoch.Load() == epoch && db.listening.Load() {
		c := k
		db.keyCache.Store(string(h), &c)
	}
	db.keyMu.Unlock()
	return &k, nil
}

// forgetKeys empties the cache of live keys.
func (db *DB) forgetKeys() {
	db.keyMu.Lock()
	db.keyEpoch.Add(1)
	db.keyCache.Clear()
	db.keyMu.Unlock()
}

// APIKeys lists keys, those of one cooperative when cooperativeID is not empty.
func (db *DB) APIKeys(cooperativeID string) ([]*store.APIKey, error) {
	var out []*store.APIKey
	err := db.read("", func(ctx context.Context, q querier) error {
		return eachDoc(ctx, q, `SELECT id, doc::text FROM api_keys WHERE $1 = '' OR cooperative_id = $1 ORDER BY id`, "API key", func() any {
			k := &store.APIKey{}
			out = append(out, k)
			return k
		}, cooperativeID)
	})
	return out, err
}

// APIKey returns one key's record (never its secret).
func (db *DB) APIKey(id string) (*store.APIKey, error) {
	var k store.APIKey
	err := db.read("", func(ctx context.Context, q querier) error {
		return getDoc(ctx, q, "api_keys", "API key", id, &k)
	})
	return &k, err
}

// RevokeAPIKey stops a key from working, on every node. The last live
// admin key cannot be revoked.
func (db *DB) RevokeAPIKey(id string) (*store.APIKey, error) {
	var k store.APIKey
	if err := db.writable(); err != nil {
		return nil, err
	}
	err := db.write("", func(ctx context.Context, tx pgx.Tx) error {
		var doc string
		err := tx.QueryRow(ctx, `SELECT doc::text FROM api_keys WHERE id = $1 FOR UPDATE`, id).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("API key %s: %w", id, trace.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(doc), &k); err != nil {
			return err
		}
		if k.Role == store.RoleAdmin && k.RevokedAt == nil {
			// Two revocations at once must not leave no admin key: hold
			// every live admin key's row while counting them.
			var live int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM api_keys
				WHERE doc->>'role' = 'admin' AND doc->'revoked_at' IS NULL FOR UPDATE) AS live`).Scan(&live); err != nil {
				return err
			}
			if live <= 1 {
				return store.LastAdminKeyError(id)
			}
		}
		if k.RevokedAt == nil {
			now := db.now().UTC()
			k.RevokedAt = &now
		}
		if _, err := tx.Exec(ctx, `UPDATE api_keys SET doc = $2::jsonb WHERE id = $1`, id, mustJSON(&k)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, db.channel, db.node+" keys")
		return err
	})
	if err == nil {
		db.forgetKeys()
	}
	return &k, err
}

// HasAdminKey reports whether any live admin key exists.
func (db *DB) HasAdminKey() (bool, error) {
	var ok bool
	err := db.read("", func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE doc->>'role' = 'admin' AND doc->'revoked_at' IS NULL)`).Scan(&ok)
	})
	return ok, err
}

// CreateUser stores a new person with a password.
func (db *DB) CreateUser(u *store.User, password string) error {
	if err := store.NewUser(u, password, db.now()); err != nil {
		return err
	}
	if err := db.writable(); err != nil {
		return err
	}
	return db.write("", func(ctx context.Context, tx pgx.Tx) error {
		if u.CooperativeID != "" {
			if ok, err := exists(ctx, tx, "cooperatives", u.CooperativeID); err != nil {
				return err
			} else if !ok {
				return store.NoSuchUserCooperative(u)
			}
		}
		if u.InspectorID != "" {
			if ok, err := exists(ctx, tx, "inspectors", u.InspectorID); err != nil {
				return err
			} else if !ok {
				return store.NoSuchUserInspector(u)
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO users (username, doc) VALUES ($1, $2::jsonb) ON CONFLICT (username) DO NOTHING`, u.Username, mustJSON(u))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.UsernameTaken(u)
		}
		return nil
	})
}

// User returns one person.
func (db *DB) User(username string) (*store.User, error) {
	var u store.User
	err := db.read("", func(ctx context.Context, q querier) error {
		got, err := readUser(ctx, q, username, false)
		if err != nil {
			return err
		}
		u = *got
		return nil
	})
	return &u, err
}

// Users lists everyone, by username.
func (db *DB) Users() ([]*store.User, error) {
	var out []*store.User
	err := db.read("", func(ctx context.Context, q querier) error {
		return eachDoc(ctx, q, `SELECT username, doc::text FROM users ORDER BY username`, "user", func() any {
			u := &store.User{}
			out = append(out, u)
			return u
		})
	})
	return out, err
}

// CheckPassword returns the live person with this username and password.
func (db *DB) CheckPassword(username, password string) (*store.User, error) {
	return store.CheckUserPassword(db.User, username, password)
}

// SetUserDisabled disables a person (revoking their sessions) or enables them again.
func (db *DB) SetUserDisabled(username string, disabled bool) error {
	if err := db.writable(); err != nil {
		return err
	}
	return db.write("", func(ctx context.Context, tx pgx.Tx) error {
		u, err := readUser(ctx, tx, username, true)
		if err != nil {
			return err
		}
		u.DisabledAt = nil
		if disabled {
			now := db.now().UTC()
			u.DisabledAt = &now
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE username = $1`, username); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE users SET doc = $2::jsonb WHERE username = $1`, username, mustJSON(u))
		return err
	})
}

// SetPassword gives a person a new password and ends every session of
// theirs, so that each device signs in again with it.
func (db *DB) SetPassword(username, password string) error {
	if err := store.CheckNewPassword(password); err != nil {
		return err
	}
	if err := db.writable(); err != nil {
		return err
	}
	hash := store.HashPassword(password)
	return db.write("", func(ctx context.Context, tx pgx.Tx) error {
		u, err := readUser(ctx, tx, username, true)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE username = $1`, username); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE users SET doc = $2::jsonb WHERE username = $1`, username, mustJSON(u))
		return err
	})
}

// CreateSession starts a session and returns the cookie's secret.
func (db *DB) CreateSession(username string) (string, *store.Session, error) {
	secret, s := store.NewSession(username, db.now())
	err := db.write("", func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id, username, doc) VALUES ($1, $2, $3::jsonb)`, store.SessionKey(secret), username, mustJSON(s))
		return err
	})
	return secret, s, err
}

// SessionFor returns the live session of a cookie secret, ending it when
// it has been idle longer than idle or exists longer than maxAge, and
// noting its use (at most once a minute).
func (db *DB) SessionFor(secret string, idle, maxAge time.Duration) (*store.Session, error) {
	if secret == "" || len(secret) > 100 {
		return nil, store.ErrSessionExpired
	}
	key := store.SessionKey(secret)
	now := db.now().UTC()
	var s store.Session
	err := db.read("", func(ctx context.Context, q querier) error {
		var doc string
		err := q.QueryRow(ctx, `SELECT doc::text FROM sessions WHERE id = $1`, key).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrSessionExpired
		}
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(doc), &s)
	})
	if err != nil {
		return nil, err
	}
	if now.Sub(s.LastSeen) > idle || now.Sub(s.CreatedAt) > maxAge {
		db.write("", func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, key)
			return err
		})
		return nil, store.ErrSessionExpired
	}
	if now.Sub(s.LastSeen) > time.Minute {
		s.LastSeen = now
		err := db.write("", func(ctx context.Context, tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE sessions SET doc = $2::jsonb WHERE id = $1`, key, mustJSON(&s))
			if err == nil && tag.RowsAffected() == 0 {
				return store.ErrSessionExpired
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return &s, nil
}

// EndSession signs a session out.
func (db *DB) EndSession(secret string) error {
	return db.write("", func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, store.SessionKey(secret))
		return err
	})
}

// RevokeSessions ends every session of a person and says how many there were.
func (db *DB) RevokeSessions(username string) (int, error) {
	var n int64
	err := db.write("", func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE username = $1`, username)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// SessionCounts counts the live sessions of each person.
func (db *DB) SessionCounts() (map[string]int, error) {
	out := map[string]int{}
	err := db.read("", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT username, count(*) FROM sessions GROUP BY username`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u string
			var n int
			if err := rows.Scan(&u, &n); err != nil {
				return err
			}
			out[u] = n
		}
		return rows.Err()
	})
	return out, err
}

// IdempotentEvent returns the event recorded for an idempotency key, if any.
func (db *DB) IdempotentEvent(key string) (trace.Hash, bool, error) {
	var h trace.Hash
	found := false
	err := db.read("", func(ctx context.Context, q querier) error {
		var b []byte
		err := q.QueryRow(ctx, `SELECT event FROM idempotency WHERE key = $1`, key).Scan(&b)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err == nil && len(b) == len(h) {
			copy(h[:], b)
			found = true
		}
		return err
	})
	return h, found, err
}

// PutIdempotentEvent remembers the event recorded for an idempotency key.
func (db *DB) PutIdempotentEvent(key string, h trace.Hash) error {
	return db.write("", func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO idempotency (key, event) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET event = EXCLUDED.event`, key, h[:])
		return err
	})
}

// readUser reads a workspace user's record, with lock holding its row for
// the transaction q is.
func readUser(ctx context.Context, q querier, username string, lock bool) (*store.User, error) {
	sql := `SELECT doc::text FROM users WHERE username = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var doc string
	err := q.QueryRow(ctx, sql, username).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("user %s: %w", username, trace.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var u store.User
	if err := json.Unmarshal([]byte(doc), &u); err != nil {
		return nil, fmt.Errorf("user %s: stored record is damaged: %w", username, err)
	}
	return &u, nil
}
