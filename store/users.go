package store

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/argon2"

	"github.com/truyxuat/truyxuat/trace"
)

// People who sign in to the workspace with a username and password, their
// sessions, and the idempotency keys of requests sent again by a device
// that was offline. Passwords are stored as argon2id hashes; sessions and
// their CSRF tokens by the SHA-256 of the cookie's secret.

var (
	bucketUsers    = []byte("users")
	bucketSessions = []byte("sessions")
	bucketIdem     = []byte("idempotency")
)

func init() { allBuckets = append(allBuckets, bucketUsers, bucketSessions, bucketIdem) }

// User is a person who signs in to the workspace.
type User struct {
	Username      string     `json:"username"`
	Name          string     `json:"name"`
	Role          Role       `json:"role"`
	CooperativeID string     `json:"cooperative_id,omitempty"`
	InspectorID   string     `json:"inspector_id,omitempty"`
	Province      string     `json:"province,omitempty"` // an agency's province code
	PasswordHash  string     `json:"password_hash"`
	CreatedAt     time.Time  `json:"created_at"`
	DisabledAt    *time.Time `json:"disabled_at,omitempty"`
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 8

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,39}$`)

// argon2id parameters (RFC 9106 / OWASP: 19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns the argon2id hash of a password in the PHC format.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// checkPassword compares a password with a PHC argon2id hash.
func checkPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 || t > 20 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when a username is unknown, so a sign-in takes as
// long whether or not the person exists.
var dummyHash = HashPassword("no such user, no such password")

// NewUser checks a person about to be created, sets what their role
// implies, their creation time and their password's hash. Whether their
// cooperative or inspector exists, and whether the username is free, is
// the store's to check.
func NewUser(u *User, password string, now time.Time) error {
	var v trace.ValidationError
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	if !usernameRE.MatchString(u.Username) {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "username", Reason: "2 to 40 lower-case letters, digits, dots, dashes or underscores"})
	}
	if strings.TrimSpace(u.Name) == "" {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "name", Reason: "give the person's name"})
	} else if err := trace.ValidateText("name", u.Name, trace.MaxNameLen, true); err != nil {
		var fe *trace.FieldError
		if errors.As(err, &fe) {
			v.Fields = append(v.Fields, fe)
		}
	}
	if len([]rune(password)) < MinPasswordLen || len(password) > 200 {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "password", Reason: fmt.Sprintf("at least %d characters", MinPasswordLen)})
	}
	switch u.Role {
	case RoleAdmin:
		u.CooperativeID, u.InspectorID, u.Province = "", "", ""
	case RoleAgency:
		u.CooperativeID, u.InspectorID = "", ""
		if !validProvinceCode(u.Province) {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "province", Reason: "an agency's account needs its province's code, 2 digits such as 92"})
		}
	case RoleInspector:
		u.CooperativeID, u.Province = "", ""
		if u.InspectorID == "" {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "inspector_id", Reason: "an inspector's account needs the registered inspector"})
		}
	case RoleCooperative:
		u.InspectorID, u.Province = "", ""
		if u.CooperativeID == "" {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "cooperative_id", Reason: "a cooperative's account needs its cooperative"})
		}
	default:
		v.Fields = append(v.Fields, &trace.FieldError{Field: "role", Reason: "must be admin, cooperative, inspector or agency"})
	}
	if len(v.Fields) > 0 {
		return &v
	}
	u.PasswordHash = HashPassword(password)
	u.CreatedAt = now.UTC()
	u.DisabledAt = nil
	return nil
}

// CreateUser stores a new person with a password.
func (db *DB) CreateUser(u *User, password string) error {
	if err := NewUser(u, password, db.opts.Now()); err != nil {
		return err
	}
	return db.update(func(tx *bolt.Tx) error {
		if u.CooperativeID != "" && tx.Bucket(bucketCoops).Get([]byte(u.CooperativeID)) == nil {
			return NoSuchUserCooperative(u)
		}
		if u.InspectorID != "" && tx.Bucket(bucketInspectors).Get([]byte(u.InspectorID)) == nil {
			return NoSuchUserInspector(u)
		}
		b := tx.Bucket(bucketUsers)
		if b.Get([]byte(u.Username)) != nil {
			return UsernameTaken(u)
		}
		return putJSON(b, u.Username, u)
	})
}

// NoSuchUserCooperative, NoSuchUserInspector and UsernameTaken refuse a
// new person for what only the store knows.
func NoSuchUserCooperative(u *User) error {
	return &trace.FieldError{Field: "cooperative_id", Reason: fmt.Sprintf("there is no cooperative %q", u.CooperativeID)}
}

func NoSuchUserInspector(u *User) error {
	return &trace.FieldError{Field: "inspector_id", Reason: fmt.Sprintf("there is no inspector %q", u.InspectorID)}
}

func UsernameTaken(u *User) error {
	return &trace.FieldError{Field: "username", Reason: fmt.Sprintf("%q is taken", u.Username)}
}

// User returns one person.
func (db *DB) User(username string) (*User, error) {
	var u User
	return &u, db.get(bucketUsers, username, "user", &u)
}

// Users lists everyone, by username.
func (db *DB) Users() ([]*User, error) {
	var out []*User
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
			var u User
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("user %s: %w", k, err)
			}
			out = append(out, &u)
			return nil
		})
	})
	return out, err
}

// ErrBadCredentials is a wrong username or password, not told apart.
var ErrBadCredentials = fmt.Errorf("wrong username or password: %w", trace.ErrUnauthenticated)

// CheckPassword returns the live person with this username and password.
func (db *DB) CheckPassword(username, password string) (*User, error) {
	return CheckUserPassword(db.User, username, password)
}

// CheckUserPassword is Store.CheckPassword over a store's User: it takes
// as long whether or not the person exists.
func CheckUserPassword(user func(string) (*User, error), username, password string) (*User, error) {
	u, err := user(strings.ToLower(strings.TrimSpace(username)))
	if err != nil {
		checkPassword(dummyHash, password)
		if errors.Is(err, trace.ErrNotFound) {
			return nil, ErrBadCredentials
		}
		return nil, err
	}
	if !checkPassword(u.PasswordHash, password) || u.DisabledAt != nil {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// SetUserDisabled disables a person (revoking their sessions) or enables them again.
func (db *DB) SetUserDisabled(username string, disabled bool) error {
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		var u User
		if err := getJSON(b, username, "user", &u); err != nil {
			return err
		}
		u.DisabledAt = nil
		if disabled {
			now := db.opts.Now().UTC()
			u.DisabledAt = &now
			if _, err := revokeSessions(tx, username); err != nil {
				return err
			}
		}
		return putJSON(b, username, &u)
	})
}

// SetPassword gives a person a new password and ends every session of
// theirs, so that each device signs in again with it.
func (db *DB) SetPassword(username, password string) error {
	if err := CheckNewPassword(password); err != nil {
		return err
	}
	hash := HashPassword(password)
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		var u User
		if err := getJSON(b, username, "user", &u); err != nil {
			return err
		}
		u.PasswordHash = hash
		if _, err := revokeSessions(tx, username); err != nil {
			return err
		}
		return putJSON(b, username, &u)
	})
}

// CheckNewPassword refuses a password too short or too long to set.
func CheckNewPassword(password string) error {
	if len([]rune(password)) < MinPasswordLen || len(password) > 200 {
		return &trace.FieldError{Field: "password", Reason: fmt.Sprintf("at least %d characters", MinPasswordLen)}
	}
	return nil
}

// Session is a signed-in person's session. Its id is the SHA-256 of the
// cookie's secret; the secret itself is never stored.
type Session struct {
	Username  string    `json:"username"`
	CSRF      string    `json:"csrf"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
}

func sessionKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SessionKey is what a store keeps of a session's cookie secret: its SHA-256.
func SessionKey(secret string) []byte { return sessionKey(secret) }

// NewSession starts a session of a person: its cookie's secret and what
// a store keeps.
func NewSession(username string, now time.Time) (string, *Session) {
	now = now.UTC()
	return randomToken(), &Session{Username: username, CSRF: randomToken(), CreatedAt: now, LastSeen: now}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateSession starts a session and returns the cookie's secret.
func (db *DB) CreateSession(username string) (string, *Session, error) {
	secret, s := NewSession(username, db.opts.Now())
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketSessions), string(sessionKey(secret)), s)
	})
	return secret, s, err
}

// ErrSessionExpired is a session unknown, revoked, idle too long or too old.
var ErrSessionExpired = fmt.Errorf("the session has ended; sign in again: %w", trace.ErrUnauthenticated)

// SessionFor returns the live session of a cookie secret, ending it when
// it has been idle longer than idle or exists longer than maxAge, and
// noting its use (at most once a minute, to spare the disk).
func (db *DB) SessionFor(secret string, idle, maxAge time.Duration) (*Session, error) {
	if secret == "" || len(secret) > 100 {
		return nil, ErrSessionExpired
	}
	key := sessionKey(secret)
	now := db.opts.Now().UTC()
	var s Session
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get(key)
		if v == nil {
			return ErrSessionExpired
		}
		return json.Unmarshal(v, &s)
	})
	if err != nil {
		return nil, err
	}
	if now.Sub(s.LastSeen) > idle || now.Sub(s.CreatedAt) > maxAge {
		db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSessions).Delete(key) })
		return nil, ErrSessionExpired
	}
	if now.Sub(s.LastSeen) > time.Minute {
		s.LastSeen = now
		err = db.bolt.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketSessions)
			if b.Get(key) == nil {
				return ErrSessionExpired
			}
			return putJSON(b, string(key), &s)
		})
		if err != nil {
			return nil, err
		}
	}
	return &s, nil
}

// EndSession signs a session out.
func (db *DB) EndSession(secret string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSessions).Delete(sessionKey(secret)) })
}

// RevokeSessions ends every session of a person and says how many there were.
func (db *DB) RevokeSessions(username string) (int, error) {
	n := 0
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		n, err = revokeSessions(tx, username)
		return err
	})
	return n, err
}

func revokeSessions(tx *bolt.Tx, username string) (int, error) {
	b := tx.Bucket(bucketSessions)
	var del [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var s Session
		if json.Unmarshal(v, &s) == nil && s.Username == username {
			del = append(del, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range del {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(del), err
}

// SessionCounts counts the live sessions of each person.
func (db *DB) SessionCounts() (map[string]int, error) {
	out := map[string]int{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).ForEach(func(_, v []byte) error {
			var s Session
			if json.Unmarshal(v, &s) == nil {
				out[s.Username]++
			}
			return nil
		})
	})
	return out, err
}

// IdempotentEvent returns the event recorded for an idempotency key, if any.
func (db *DB) IdempotentEvent(key string) (trace.Hash, bool, error) {
	var h trace.Hash
	found := false
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketIdem).Get([]byte(key))
		if len(v) == len(h) {
			copy(h[:], v)
			found = true
		}
		return nil
	})
	return h, found, err
}

// PutIdempotentEvent remembers the event recorded for an idempotency key.
func (db *DB) PutIdempotentEvent(key string, h trace.Hash) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketIdem).Put([]byte(key), h[:]) })
}
