package trace

import (
	"fmt"
	"time"
)

// Inspector is an official of a quality-control agency (for example a
// provincial Chi cục Quản lý Chất lượng Nông lâm sản và Thủy sản) who
// records inspections and samplings in a batch's chain, signed with the
// inspector's own key. Such an event still names the batch's cooperative:
// the cooperative owns the chain; the signer says who recorded the event.
type Inspector struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Agency string `json:"agency"`
	// PublicKeys are the Ed25519 public keys whose signatures count as the
	// inspector's.
	PublicKeys [][]byte  `json:"public_keys"`
	CreatedAt  time.Time `json:"created_at"`
}

// Validate checks the inspector's fields.
func (i *Inspector) Validate() error {
	var v ValidationError
	v.add("", validateID("id", i.ID))
	v.add("", ValidateText("name", i.Name, MaxNameLen, true))
	v.add("", ValidateText("agency", i.Agency, MaxNameLen, true))
	for n, k := range i.PublicKeys {
		if len(k) != PublicKeySize {
			v.addf(fmt.Sprintf("public_keys[%d]", n), "an Ed25519 public key has %d bytes, got %d", PublicKeySize, len(k))
		}
	}
	return v.err()
}

// The business steps of an inspection and its results.
var (
	InspectionSteps   = []string{"inspecting", "sampling"}
	InspectionResults = []string{"conformant", "non_conformant"}
)

// HasKey reports whether k is one of keys.
func HasKey(keys [][]byte, k []byte) bool { return containsKey(keys, k) }
