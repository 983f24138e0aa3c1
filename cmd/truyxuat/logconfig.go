package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/truyxuat/truyxuat/trace/tlog"
)

// validateLog checks the log's settings and normalizes the lists, which
// may come from the environment as one string ("a,b" or "a b").
func (c *Config) validateLog() error {
	if c.LogOrigin != "" && !tlog.ValidKeyName(c.LogOrigin) {
		return fmt.Errorf("config: log_origin %q must be a name without spaces or '+', such as trace.example.vn/log", c.LogOrigin)
	}
	if c.CheckpointInterval <= 0 {
		return errors.New("config: checkpoint_interval must be a positive duration such as 1s")
	}
	c.Witnesses = splitList(c.Witnesses)
	for _, w := range c.Witnesses {
		if _, _, err := parseWitnessURL(w); err != nil {
			return err
		}
	}
	c.LogKeys = splitList(c.LogKeys)
	for _, k := range c.LogKeys {
		if _, err := tlog.ParseVerifierKey(k); err != nil {
			return fmt.Errorf("config: log_keys: %q is not a verifier key (<name>+<id>+<base64>): %v", k, err)
		}
	}
	switch c.Lang {
	case "vi", "en":
	default:
		return fmt.Errorf("config: lang %q must be vi or en", c.Lang)
	}
	if c.WitnessAddr == "" {
		return errors.New("config: witness_addr must be a listen address such as 127.0.0.1:8081")
	}
	if c.WitnessName != "" && !tlog.ValidKeyName(c.WitnessName) {
		return fmt.Errorf("config: witness_name %q must be a name without spaces or '+', such as witness.example.vn", c.WitnessName)
	}
	return nil
}

// splitList splits list items on commas and white space and drops empty ones.
func splitList(in []string) []string {
	out := []string{}
	for _, item := range in {
		out = append(out, strings.FieldsFunc(item, func(r rune) bool {
			return r == ',' || r == ' ' || r == '\t' || r == '\n'
		})...)
	}
	return out
}

// parseWitnessURL reads a "name=url" witnesses item.
func parseWitnessURL(item string) (name, base string, err error) {
	name, base, ok := strings.Cut(item, "=")
	u, perr := url.Parse(base)
	if !ok || name == "" || perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("config: witnesses: %q must be <name>=<URL>, the name as in the witness policy and the witness's submission URL, e.g. w1=https://witness.example.vn", item)
	}
	return name, strings.TrimRight(base, "/"), nil
}

// logOrigin is the configured log origin, or the public URL's host
// followed by /log.
func (c *Config) logOrigin(publicURL string) (string, error) {
	if c.LogOrigin != "" {
		return c.LogOrigin, nil
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("config: cannot derive the log origin from public URL %q; set log_origin", publicURL)
	}
	origin := u.Host + "/log"
	if !tlog.ValidKeyName(origin) {
		return "", fmt.Errorf("config: the log origin %q derived from the public URL is not a valid key name; set log_origin", origin)
	}
	return origin, nil
}

// witnessSetup is the witness policy with the URL of each witness the log
// sends its checkpoints to.
type witnessSetup struct {
	policy  *tlog.Policy
	text    string // the policy file, verbatim
	targets []witnessTarget
}

type witnessTarget struct {
	name string
	url  string // submission prefix
	key  tlog.VerifierKey
}

// loadWitnesses reads the witness policy file and matches the witnesses
// setting to it. A witness's URL comes from the witnesses setting or,
// failing that, from its policy line.
func (c *Config) loadWitnesses() (*witnessSetup, error) {
	if c.WitnessPolicy == "" {
		if len(c.Witnesses) > 0 {
			return nil, errors.New("config: witnesses are set but witness_policy is not: the policy file holds the witnesses' keys")
		}
		return &witnessSetup{}, nil
	}
	text, err := os.ReadFile(c.WitnessPolicy)
	if err != nil {
		return nil, fmt.Errorf("config: witness_policy: %w", err)
	}
	p, err := tlog.ParsePolicy(text)
	if err != nil {
		return nil, fmt.Errorf("config: witness_policy %s: %w", c.WitnessPolicy, err)
	}
	urls := map[string]string{}
	for _, w := range p.Witnesses {
		if w.URL != "" {
			urls[w.Name] = strings.TrimRight(w.URL, "/")
		}
	}
	for _, item := range c.Witnesses {
		name, u, err := parseWitnessURL(item)
		if err != nil {
			return nil, err
		}
		found := false
		for _, w := range p.Witnesses {
			found = found || w.Name == name
		}
		if !found {
			return nil, fmt.Errorf("config: witnesses: %q is not a witness of the policy %s", name, c.WitnessPolicy)
		}
		urls[name] = u
	}
	ws := &witnessSetup{policy: p, text: string(text)}
	for _, w := range p.Witnesses {
		if u, ok := urls[w.Name]; ok {
			if w.Key.Type != tlog.TypeCosignatureV1 && w.Key.Type != tlog.TypeMLDSA44 {
				return nil, fmt.Errorf("config: witness %s has a %v key, not a cosignature key", w.Name, w.Key.Type)
			}
			ws.targets = append(ws.targets, witnessTarget{name: w.Name, url: u, key: w.Key})
		}
	}
	return ws, nil
}

// trustAnchor is what a verifier pins: the log's origin and keys, and
// optionally a witness policy whose quorum checkpoints must meet.
type trustAnchor struct {
	origin string
	keys   []tlog.VerifierKey
	policy *tlog.Policy // nil: no witness quorum required
}

// verifier returns the checkpoint verifier of the anchor.
func (a *trustAnchor) verifier() (*tlog.CheckpointVerifier, error) {
	cv := &tlog.CheckpointVerifier{Origin: a.origin, Witnesses: a.policy}
	for _, k := range a.keys {
		v, err := k.Verifier()
		if err != nil {
			return nil, err
		}
		cv.Log = append(cv.Log, v)
	}
	return cv, nil
}

// errNoTrust is returned when a command that checks the log has no keys
// to check it with.
var errNoTrust = errors.New("no log keys to trust: pass --trust FILE (saved from `truyxuat keys`) or --log-key VKEY (twice: Ed25519 and ML-DSA-44)")

// loadTrust builds the trust anchor from --log-key, --trust and
// --witness-policy. It returns nil, nil if none of them is set.
func (c *Config) loadTrust() (*trustAnchor, error) {
	a := &trustAnchor{}
	for _, k := range c.LogKeys {
		vk, err := tlog.ParseVerifierKey(k)
		if err != nil {
			return nil, err
		}
		a.keys = append(a.keys, vk)
	}
	if c.Trust != "" {
		text, err := os.ReadFile(c.Trust)
		if err != nil {
			return nil, fmt.Errorf("trust file: %w", err)
		}
		p, err := tlog.ParsePolicy(text)
		if err != nil {
			return nil, fmt.Errorf("trust file %s: %w", c.Trust, err)
		}
		if len(p.Logs) == 0 {
			return nil, fmt.Errorf("trust file %s lists no log key (a line `log <vkey>`)", c.Trust)
		}
		for _, l := range p.Logs {
			a.keys = append(a.keys, l.Key)
		}
		if p.Quorum != "none" {
			a.policy = p
		}
	}
	if c.WitnessPolicy != "" {
		text, err := os.ReadFile(c.WitnessPolicy)
		if err != nil {
			return nil, fmt.Errorf("witness policy: %w", err)
		}
		p, err := tlog.ParsePolicy(text)
		if err != nil {
			return nil, fmt.Errorf("witness policy %s: %w", c.WitnessPolicy, err)
		}
		a.policy = p
	}
	if len(a.keys) == 0 {
		if a.policy != nil && len(a.policy.Logs) > 0 {
			for _, l := range a.policy.Logs {
				a.keys = append(a.keys, l.Key)
			}
		} else if a.policy != nil || c.Trust != "" {
			return nil, errNoTrust
		} else {
			return nil, nil
		}
	}
	a.origin = a.keys[0].Name
	seen := map[string]bool{}
	var keys []tlog.VerifierKey
	for _, k := range a.keys {
		if k.Name != a.origin {
			return nil, fmt.Errorf("the pinned log keys name two logs, %q and %q; pin the keys of one log", a.origin, k.Name)
		}
		if !seen[k.String()] {
			seen[k.String()] = true
			keys = append(keys, k)
		}
	}
	a.keys = keys
	return a, nil
}

// trustFile formats a trust file: a C2SP tlog-policy listing the log's
// keys and the witness policy's witnesses, groups and quorum ("quorum
// none" without one). logURL, if not empty, is put on the log lines.
func trustFile(origin string, keys []string, logURL, witnessPolicy string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# truyxuat transparency log %s\n", origin)
	b.WriteString("# A C2SP tlog-policy. Save it and pin it: truyxuat verify --trust FILE, truyxuat audit --trust FILE.\n")
	b.WriteString("# Every checkpoint of the log is signed by both keys (Ed25519, then ML-DSA-44).\n")
	for _, k := range keys {
		b.WriteString("log " + k)
		if logURL != "" {
			b.WriteString(" " + logURL)
		}
		b.WriteByte('\n')
	}
	if strings.TrimSpace(witnessPolicy) == "" {
		b.WriteString("# No witnesses.\nquorum none\n")
		return b.String()
	}
	b.WriteString("# Witness policy:\n")
	for _, line := range strings.Split(strings.TrimRight(witnessPolicy, "\n"), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "log" {
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
