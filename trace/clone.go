package trace

import (
	"bytes"
	"maps"
	"slices"
)

// Clone returns a copy of the cooperative that shares nothing with it.
func (c *Cooperative) Clone() *Cooperative {
	out := *c
	out.PublicKeys = make([][]byte, len(c.PublicKeys))
	for i, k := range c.PublicKeys {
		out.PublicKeys[i] = bytes.Clone(k)
	}
	out.Profile = maps.Clone(c.Profile)
	return &out
}

// Clone returns a copy of the product that shares nothing with it.
func (p *Product) Clone() *Product {
	out := *p
	out.Content = maps.Clone(p.Content)
	return &out
}

// Clone returns a copy of the batch that shares nothing with it.
func (b *Batch) Clone() *Batch {
	out := *b
	if b.Plot != nil {
		p := *b.Plot
		out.Plot = &p
	}
	out.Certifications = slices.Clone(b.Certifications)
	return &out
}
