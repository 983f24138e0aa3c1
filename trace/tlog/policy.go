package tlog

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Policy is a C2SP tlog-policy: trusted logs, named witnesses, groups with
// thresholds and the quorum a checkpoint's cosignatures must meet.
type Policy struct {
	Logs      []PolicyLog
	Witnesses []PolicyWitness
	Groups    []PolicyGroup
	// Quorum names a witness or group, or is "none".
	Quorum string
}

// PolicyLog is a "log <vkey> [<url>]" line.
type PolicyLog struct {
	Key VerifierKey
	URL string
}

// PolicyWitness is a "witness <name> <vkey> [<url>]" line.
type PolicyWitness struct {
	Name string
	Key  VerifierKey
	URL  string
}

// PolicyGroup is a "group <name> <k|all|any> <member>..." line; Threshold
// is k (1 ≤ k ≤ len(Members)).
type PolicyGroup struct {
	Name      string
	Threshold int
	Members   []string
}

// ErrMalformedPolicy is returned (wrapped) by ParsePolicy.
var ErrMalformedPolicy = errors.New("tlog: malformed policy")

// ErrQuorum is returned (wrapped) when a checkpoint's cosignatures do not
// meet a policy's quorum.
var ErrQuorum = errors.New("tlog: witness quorum not met")

// ParsePolicy parses a policy file. Items are separated by spaces and tabs;
// blank lines and lines starting with "#" are ignored; only tab, newline and
// the octets 0x20–0x7E and 0x80–0xFF may appear. Group members and the
// quorum may only name witnesses and groups defined on earlier lines; each
// name may be a group member at most once in the whole policy; "none" is
// predefined and only usable as the quorum; there must be exactly one quorum
// line; no two logs, and no two witnesses, may wrap the same public key.
//
// Log keys must be Ed25519 or ML-DSA-44. Witness keys must be cosignature
// keys: TypeCosignatureV1 or TypeMLDSA44; a plain Ed25519 (type 0x01) witness
// key is taken as the cosignature/v1 key with the same public key, as other
// tlog tools do.
func ParsePolicy(data []byte) (*Policy, error) {
	for _, c := range data {
		if c != '\t' && c != '\n' && (c < 0x20 || c == 0x7f) {
			return nil, fmt.Errorf("%w: control character 0x%02x", ErrMalformedPolicy, c)
		}
	}
	p := &Policy{}
	defined := map[string]bool{"none": true}
	used := map[string]bool{}
	quorums := 0
	var logKeys, witnessKeys [][]byte
	dup := func(list [][]byte, k []byte) bool {
		for _, x := range list {
			if bytes.Equal(x, k) {
				return true
			}
		}
		return false
	}
	for i, line := range strings.Split(string(data), "\n") {
		bad := func(format string, args ...any) (*Policy, error) {
			return nil, fmt.Errorf("%w: line %d: %s", ErrMalformedPolicy, i+1, fmt.Sprintf(format, args...))
		}
		f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "log":
			if len(f) < 2 || len(f) > 3 {
				return bad("want log <vkey> [<url>]")
			}
			k, err := ParseVerifierKey(f[1])
			if err != nil {
				return bad("%v", err)
			}
			if k.Type != TypeEd25519 && k.Type != TypeMLDSA44 {
				return bad("log key must be Ed25519 or ML-DSA-44, not %v", k.Type)
			}
			if dup(logKeys, k.PublicKey) {
				return bad("duplicate log key")
			}
			logKeys = append(logKeys, k.PublicKey)
			l := PolicyLog{Key: k}
			if len(f) == 3 {
				l.URL = f[2]
			}
			p.Logs = append(p.Logs, l)
		case "witness":
			if len(f) < 3 || len(f) > 4 {
				return bad("want witness <name> <vkey> [<url>]")
			}
			if defined[f[1]] {
				return bad("name %q already defined", f[1])
			}
			k, err := ParseVerifierKey(f[2])
			if err != nil {
				return bad("%v", err)
			}
			switch k.Type {
			case TypeEd25519:
				k.Type = TypeCosignatureV1
			case TypeCosignatureV1, TypeMLDSA44:
			default:
				return bad("witness key must be a cosignature key, not %v", k.Type)
			}
			if dup(witnessKeys, k.PublicKey) {
				return bad("duplicate witness key")
			}
			witnessKeys = append(witnessKeys, k.PublicKey)
			defined[f[1]] = true
			w := PolicyWitness{Name: f[1], Key: k}
			if len(f) == 4 {
				w.URL = f[3]
			}
			p.Witnesses = append(p.Witnesses, w)
		case "group":
			if len(f) < 4 {
				return bad("want group <name> <k|all|any> <member>...")
			}
			if defined[f[1]] {
				return bad("name %q already defined", f[1])
			}
			g := PolicyGroup{Name: f[1], Members: f[3:]}
			switch f[2] {
			case "all":
				g.Threshold = len(g.Members)
			case "any":
				g.Threshold = 1
			default:
				k, ok := parseDecimal(f[2])
				if !ok || k < 1 || k > uint64(len(g.Members)) {
					return bad("threshold must be all, any or 1 to %d", len(g.Members))
				}
				g.Threshold = int(k)
			}
			for _, m := range g.Members {
				if m == "none" || !defined[m] {
					return bad("group member %q is not a witness or group defined earlier", m)
				}
				if used[m] {
					return bad("%q is already a group member", m)
				}
				used[m] = true
			}
			defined[f[1]] = true
			p.Groups = append(p.Groups, g)
		case "quorum":
			if len(f) != 2 {
				return bad("want quorum <name>")
			}
			if quorums++; quorums > 1 {
				return bad("more than one quorum line")
			}
			if !defined[f[1]] {
				return bad("quorum %q is not defined earlier", f[1])
			}
			p.Quorum = f[1]
		default:
			return bad("unknown keyword %q", f[0])
		}
	}
	if quorums == 0 {
		return nil, fmt.Errorf("%w: no quorum line", ErrMalformedPolicy)
	}
	return p, nil
}

// verifiers returns verifiers for the policy's logs and witnesses.
func (p *Policy) verifiers() (logs, witnesses []Verifier, err error) {
	for _, l := range p.Logs {
		v, err := l.Key.Verifier()
		if err != nil {
			return nil, nil, err
		}
		logs = append(logs, v)
	}
	for _, w := range p.Witnesses {
		v, err := w.Key.Verifier()
		if err != nil {
			return nil, nil, err
		}
		witnesses = append(witnesses, v)
	}
	return logs, witnesses, nil
}

// Check verifies a signed checkpoint note against the policy: it must carry
// a valid signature from at least one of the policy's logs (skipped when
// the policy lists no log), and valid cosignatures meeting the quorum. A
// failing line from any of the policy's keys, or from extra (for example
// the log verifiers the caller requires), makes the note invalid. Errors
// wrap ErrQuorum, ErrNoKnownSignature or are *InvalidSignatureError.
func (p *Policy) Check(n *Note, extra ...Verifier) error {
	logs, witnesses, err := p.verifiers()
	if err != nil {
		return err
	}
	all := append(append([]Verifier(nil), logs...), witnesses...)
	for _, e := range extra {
		// A key listed both in the policy and in extra (the log's own
		// keys, typically) is checked once.
		dup := false
		for _, v := range all {
			dup = dup || (v.Name() == e.Name() && v.KeyHash() == e.KeyHash())
		}
		if !dup {
			all = append(all, e)
		}
	}
	ok, err := n.verify(all)
	if err != nil {
		return err
	}
	if len(logs) > 0 {
		signed := false
		for i := range logs {
			signed = signed || ok[i]
		}
		if !signed {
			return fmt.Errorf("%w: no signature from a log of the policy", ErrNoKnownSignature)
		}
	}
	cosigned := map[string]bool{}
	for i, w := range p.Witnesses {
		cosigned[w.Name] = ok[len(logs)+i]
	}
	if !p.witnessed(p.Quorum, cosigned) {
		return fmt.Errorf("%w: %q", ErrQuorum, p.Quorum)
	}
	return nil
}

// witnessed reports whether the witness or group name witnessed the
// checkpoint, given which witnesses cosigned it.
func (p *Policy) witnessed(name string, cosigned map[string]bool) bool {
	if name == "none" {
		return true
	}
	if c, ok := cosigned[name]; ok {
		return c
	}
	for _, g := range p.Groups {
		if g.Name != name {
			continue
		}
		n := 0
		for _, m := range g.Members {
			if p.witnessed(m, cosigned) {
				n++
			}
		}
		return n >= g.Threshold
	}
	return false
}
