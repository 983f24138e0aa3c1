// Package epcis checks EPCIS 2.0 JSON and JSON-LD documents against GS1's
// published EPCIS 2.0 JSON Schema, which is embedded (see NOTICE), so the
// check needs no network and no files at run time.
//
// Validation is strict in the two ways the schema needs to be useful:
// format assertions are on (a "date-time" or "uri" that does not parse is
// an error, not an annotation), and patterns are ECMA-262 regular
// expressions, run with an ECMAScript engine because the schema's patterns
// use lookahead, which Go's regexp package does not have.
//
// A document's problems are reported all at once, each with the RFC 6901
// JSON pointer of the offending value. Alternatives the schema offers
// (anyOf, oneOf) are folded into one problem that says what was expected,
// so a bizStep that is neither a CBV name nor a URI is one problem, not two.
package epcis

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed EPCIS-JSON-Schema.json
var schemaJSON []byte

// SchemaID is the $id of GS1's EPCIS 2.0 JSON Schema.
const SchemaID = "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json"

// SchemaSHA256 is the SHA-256 of the embedded schema file, as NOTICE records it.
const SchemaSHA256 = "ed3228d7867198b4a5be9748fe77f473457c6ed98224fab28a950b4ce634a041"

// MaxProblems bounds the problems one validation reports; a document that
// breaks the schema in more places than this is told so in the last one.
const MaxProblems = 200

// Schema returns the embedded schema file.
func Schema() []byte { return slices.Clone(schemaJSON) }

// Problem is one way a document breaks the schema.
type Problem struct {
	// Pointer is the RFC 6901 JSON pointer of the offending value ("" for
	// the whole document).
	Pointer string
	// Detail says what is wrong, in English.
	Detail string
}

func (p Problem) String() string {
	if p.Pointer == "" {
		return "(document): " + p.Detail
	}
	return p.Pointer + ": " + p.Detail
}

// Validator checks documents against one compiled schema. It is safe for
// concurrent use.
type Validator struct {
	schema *jsonschema.Schema
}

var defaultValidator = sync.OnceValues(func() (*Validator, error) { return Compile(schemaJSON) })

// Default returns the validator of the embedded schema.
func Default() *Validator {
	v, err := defaultValidator()
	if err != nil {
		// The schema is embedded and tested: this is a build defect.
		panic(fmt.Sprintf("epcis: embedded schema: %v", err))
	}
	return v
}

// Compile builds a validator from the bytes of an EPCIS JSON Schema (the
// embedded one, or another copy of it).
func Compile(schema []byte) (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("epcis: schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseRegexpEngine(ecmaCompile)
	const loc = "epcis-schema.json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("epcis: schema: %w", err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("epcis: schema: %w", err)
	}
	return &Validator{schema: s}, nil
}

// Decode reads one JSON value as the validator needs it (numbers kept as
// json.Number), refusing trailing data.
func Decode(doc []byte) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(doc))
}

// Validate parses doc and checks it against the schema. It returns the
// problems found (none for a valid document), or an error if doc is not
// JSON at all.
func (v *Validator) Validate(doc []byte) ([]Problem, error) {
	val, err := Decode(doc)
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return v.ValidateValue(val), nil
}

// ValidateValue checks a value decoded with Decode.
func (v *Validator) ValidateValue(val any) []Problem {
	err := v.schema.Validate(val)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Problem{{Detail: err.Error()}}
	}
	c := &collector{seen: map[Problem]bool{}}
	c.walk(ve, nil)
	out := c.dropCovered()
	slices.SortStableFunc(out, func(a, b Problem) int { return comparePointers(a.Pointer, b.Pointer) })
	if len(out) > MaxProblems {
		n := len(out)
		out = append(out[:MaxProblems-1:MaxProblems-1], Problem{Detail: fmt.Sprintf("and %d more problems", n-MaxProblems+1)})
	}
	return out
}

var printer = message.NewPrinter(language.English)

type collector struct {
	problems []Problem
	seen     map[Problem]bool
	// covers holds, for a folded anyOf/oneOf problem, the pointers its
	// branches failed at; see dropCovered.
	covers map[int][]string
}

func (c *collector) add(p Problem, covers []string) {
	if c.seen[p] {
		return
	}
	c.seen[p] = true
	if covers != nil {
		if c.covers == nil {
			c.covers = map[int][]string{}
		}
		c.covers[len(c.problems)] = covers
	}
	c.problems = append(c.problems, p)
}

// walk turns the error tree into problems: every leaf is one, except that
// the branches of an anyOf or oneOf become a single problem, and a bad
// property name is reported at the property.
func (c *collector) walk(e *jsonschema.ValidationError, parent []string) {
	switch k := e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		if len(e.Causes) > 0 {
			detail, at := alternatives(e)
			c.add(Problem{Pointer: pointer(e.InstanceLocation), Detail: detail}, at)
			return
		}
	case *kind.PropertyNames:
		c.add(Problem{Pointer: pointer(append(slices.Clone(parent), k.Property)), Detail: propertyNameDetail(k.Property)}, nil)
		return
	}
	if len(e.Causes) == 0 {
		c.add(Problem{Pointer: pointer(e.InstanceLocation), Detail: message1(e)}, nil)
		return
	}
	for _, cause := range e.Causes {
		c.walk(cause, e.InstanceLocation)
	}
}

// dropCovered removes a folded problem whose every branch failed at
// values that have problems of their own (an action that is not in the
// list, and the alternatives that tested the same action).
func (c *collector) dropCovered() []Problem {
	direct := map[string]bool{}
	for i, p := range c.problems {
		if _, folded := c.covers[i]; !folded {
			direct[p.Pointer] = true
		}
	}
	out := c.problems[:0:0]
	for i, p := range c.problems {
		if at, folded := c.covers[i]; folded && len(at) > 0 {
			covered := true
			for _, ptr := range at {
				if ptr == p.Pointer || !direct[ptr] {
					covered = false
				}
			}
			if covered {
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

func propertyNameDetail(name string) string {
	return fmt.Sprintf("the member name %s is neither a name EPCIS defines here nor a namespaced term (prefix:name with the prefix declared in @context) or absolute URI, as extension and ilmd members must be", quoteShort(name))
}

// alternatives describes a failed anyOf/oneOf, what each branch wanted,
// and returns the pointers the branches failed at.
func alternatives(e *jsonschema.ValidationError) (string, []string) {
	base := e.InstanceLocation
	var branches []string
	var at []string
	var kinds []jsonschema.ErrorKind
	for _, cause := range e.Causes {
		var leaves []string
		collectLeaves(cause, e.InstanceLocation, base, &leaves, &at, &kinds)
		if len(leaves) > 0 {
			s := strings.Join(leaves, "; ")
			if !slices.Contains(branches, s) {
				branches = append(branches, s)
			}
		}
	}
	// The schema's vocabulary fields: a standard name, or a URI.
	if len(kinds) == 2 && len(e.Causes) == 2 {
		var f *kind.Format
		var en *kind.Enum
		for _, k := range kinds {
			switch k := k.(type) {
			case *kind.Format:
				f = k
			case *kind.Enum:
				en = k
			}
		}
		if f != nil && en != nil && f.Want == "uri" {
			values := strings.TrimPrefix(en.LocalizedString(printer), "value must be one of ")
			return fmt.Sprintf("%s is neither a standard value (one of %s) nor an absolute URI for a custom one", quoteShort(fmt.Sprint(f.Got)), values), at
		}
	}
	switch len(branches) {
	case 0:
		return message1(e), at
	case 1:
		return branches[0], at
	}
	return "matches none of the allowed forms: (" + strings.Join(branches, ") or (") + ")", at
}

func collectLeaves(e *jsonschema.ValidationError, parent, base []string, out, at *[]string, kinds *[]jsonschema.ErrorKind) {
	if pn, ok := e.ErrorKind.(*kind.PropertyNames); ok {
		// The library does not copy the location it gives a property
		// name error, so it may have been overwritten since: the
		// object is where the parent error is.
		loc := append(slices.Clone(parent), pn.Property)
		add(out, pointer(loc[min(len(base), len(loc)):])+": "+propertyNameDetail(pn.Property))
		add(at, pointer(loc))
		*kinds = append(*kinds, e.ErrorKind)
		return
	}
	if len(e.Causes) == 0 {
		msg := message1(e)
		if rel := e.InstanceLocation[min(len(base), len(e.InstanceLocation)):]; len(rel) > 0 {
			msg = pointer(rel) + ": " + msg
		}
		add(out, msg)
		add(at, pointer(e.InstanceLocation))
		*kinds = append(*kinds, e.ErrorKind)
		return
	}
	for _, c := range e.Causes {
		collectLeaves(c, e.InstanceLocation, base, out, at, kinds)
	}
}

func add(list *[]string, s string) {
	if !slices.Contains(*list, s) {
		*list = append(*list, s)
	}
}

// message1 is the message of one error, made a little plainer for the
// formats and patterns the EPCIS schema uses.
func message1(e *jsonschema.ValidationError) string {
	switch k := e.ErrorKind.(type) {
	case *kind.Pattern:
		switch k.Want {
		case "^(?!(urn:epcglobal:cbv|https?:\\/\\/ns\\.gs1\\.org/cbv\\/))":
			return fmt.Sprintf("%s uses GS1's CBV namespace, which is not for custom values; use a bare CBV name or your own URI", quoteShort(k.Got))
		}
	case *kind.Format:
		switch k.Want {
		case "uri":
			return fmt.Sprintf("%s is not an absolute URI", quoteShort(fmt.Sprint(k.Got)))
		case "date-time":
			return fmt.Sprintf("%s is not an RFC 3339 date-time such as 2025-08-15T06:30:00+07:00", quoteShort(fmt.Sprint(k.Got)))
		}
	}
	return e.ErrorKind.LocalizedString(printer)
}

func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// pointer writes an instance location as an RFC 6901 JSON pointer.
func pointer(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	return b.String()
}

// comparePointers orders pointers by document position where the tokens
// are array indexes, so /eventList/10 follows /eventList/9.
func comparePointers(a, b string) int {
	ta, tb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(ta) && i < len(tb); i++ {
		if ta[i] == tb[i] {
			continue
		}
		if isIndex(ta[i]) && isIndex(tb[i]) {
			if len(ta[i]) != len(tb[i]) {
				return len(ta[i]) - len(tb[i])
			}
		}
		return strings.Compare(ta[i], tb[i])
	}
	return len(ta) - len(tb)
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ecmaRegexp adapts regexp2 to the validator's regexp interface.
type ecmaRegexp regexp2.Regexp

func (re *ecmaRegexp) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return err == nil && ok
}

func (re *ecmaRegexp) String() string { return (*regexp2.Regexp)(re).String() }

func ecmaCompile(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	// Patterns come from the schema file, not from documents, but a
	// document's strings are matched against them: bound the time a
	// pathological string can take.
	re.MatchTimeout = matchTimeout
	return (*ecmaRegexp)(re), nil
}

// matchTimeout bounds one pattern match.
const matchTimeout = 250 * time.Millisecond
