package pg

import (
	"fmt"
	"slices"
	"testing"
)

// A commit's notification names what it changed, or says "all" when the
// names would not fit in a notification; anything else means "all".
func TestCommitPayload(t *testing.T) {
	d := changedDocs{Cooperatives: []string{"c1"}, Batches: []string{"b1", "b 2"}}
	got, all := parseCommitPayload(commitPayload(d))
	if all || !slices.Equal(got.Cooperatives, d.Cooperatives) || !slices.Equal(got.Batches, d.Batches) || len(got.Products) != 0 {
		t.Errorf("round trip of %+v: %+v (all %v)", d, got, all)
	}
	if got, all := parseCommitPayload(commitPayload(changedDocs{})); all || !got.empty() {
		t.Errorf("a commit that changed no record: %+v (all %v)", got, all)
	}
	var many changedDocs
	for i := 0; i < 1000; i++ {
		many.Batches = append(many.Batches, fmt.Sprintf("batch-%04d", i))
	}
	p := commitPayload(many)
	if len(p) > 7999-len("node-name-of-some-length ") {
		t.Errorf("a payload of %d bytes", len(p))
	}
	if _, all := parseCommitPayload(p); !all {
		t.Errorf("%d changed batches: not all", len(many.Batches))
	}
	for _, what := range []string{"commit", "import", "commit {", "commit *"} {
		if _, all := parseCommitPayload(what); !all {
			t.Errorf("%q is not taken for all", what)
		}
	}
}

// A read that began before a drop keeps nothing.
func TestDocCacheEpoch(t *testing.T) {
	var c docCache
	k := docKey{docBatch, "b1"}
	e := c.begin()
	c.drop(changedDocs{Batches: []string{"b1"}})
	c.put(e, k, "old")
	if _, ok := c.get(k); ok {
		t.Error("a read that began before a drop was kept")
	}
	c.put(c.begin(), k, "new")
	if v, ok := c.get(k); !ok || v != "new" {
		t.Errorf("kept %v, %v", v, ok)
	}
	c.drop(changedDocs{Batches: []string{"b1"}})
	if _, ok := c.get(k); ok {
		t.Error("a dropped copy is still kept")
	}
}
