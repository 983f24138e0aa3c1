package trace_test

import (
	"fmt"

	"github.com/truyxuat/truyxuat/trace"
)

// A batch is named by its GS1 Digital Link when its product has a GTIN,
// and by truyxuat's short link when it has none.
func ExampleBatchRef_URI() {
	withGTIN := trace.BatchRef{ID: "st25-a", GTIN: "08931234567897", Lot: "ST25/08-A"}
	without := trace.BatchRef{ID: "st24-hc", Lot: "ST24-HC"}
	fmt.Println(withGTIN.URI("https://trace.example.vn"))
	fmt.Println(without.URI("https://trace.example.vn"))
	// Output:
	// https://trace.example.vn/01/08931234567897/10/ST25%2F08-A <nil>
	// https://trace.example.vn/b/st24-hc <nil>
}

func ExampleCertificationURI() {
	uri := trace.CertificationURI(trace.Certification{Scheme: "vietgap", ID: "VG 0451"})
	fmt.Println(uri)
	fmt.Println(trace.ParseCertificationURI(uri))
	// Output:
	// https://truyxuat.vn/voc/cert/vietgap/VG%200451
	// {vietgap VG 0451} true
}

// A partner's harvest of a lot, named by its Digital Link on the partner's
// own resolver, maps onto an event of that lot's batch.
func ExampleMapEPCISCapture() {
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
	"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2025-08-15T10:00:00+07:00",
	"epcisBody":{"eventList":[{"type":"ObjectEvent","eventTime":"2025-08-14T23:30:00Z","eventTimeZoneOffset":"+07:00",
	"action":"ADD","bizStep":"commissioning",
	"quantityList":[{"epcClass":"https://id.example.vn/01/08931234567897/10/TL-0815","quantity":1250,"uom":"KGM"}],
	"ilmd":{"cbvmda:countryOfOrigin":"VN","cbvmda:harvestStartDate":"2025-08-15"}}]}}`
	c, err := trace.MapEPCISCapture([]byte(doc), trace.CaptureOptions{Base: "https://trace.example.vn"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := c.Events[0]
	fmt.Println(ev.Lot)
	fmt.Println(ev.Event.EventTime, ev.Event.Quantity.Value, ev.Event.Quantity.Unit, *ev.Event.ILMD)
	// Output:
	// lot TL-0815 of GTIN 08931234567897
	// 2025-08-15T06:30:00+07:00 1250 KGM {2025-08-15  VN}
}
