package trace_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/truyxuat/truyxuat/trace"
)

func ExampleNormalizeGTIN() {
	g, err := trace.NormalizeGTIN("8931234567897")
	fmt.Println(g, err)
	_, err = trace.NormalizeGTIN("8931234567890")
	fmt.Println(err)
	// Output:
	// 08931234567897 <nil>
	// gtin: GTIN bad check digit 0 (expected 7)
}

func ExampleValidateLot() {
	fmt.Println(trace.ValidateLot("ST25-2508-A"))
	fmt.Println(trace.ValidateLot("LÔ1") != nil)
	// Output:
	// <nil>
	// true
}

// A cooperative signs two events of one batch; the second links to the
// first, and the history verifies until a byte changes.
func ExampleVerifyHistory() {
	signer, _ := trace.NewSigner(bytes.Repeat([]byte{1}, trace.SeedSize))
	ict := time.FixedZone("ICT", 7*3600)
	var history []*trace.SignedEvent
	var prev trace.Hash
	for i, step := range []string{"commissioning", "packing"} {
		et, off := trace.FormatEventTime(time.Date(2025, 8, 15, 6+i, 30, 0, 0, ict))
		e := &trace.Event{Type: trace.ObjectEvent, Cooperative: "htx-hoa-tu", Batch: "st25-a",
			Seq: uint64(i), Prev: prev, Action: "OBSERVE", BizStep: step, EventTime: et, EventTimeZoneOffset: off}
		se, err := signer.Sign(e)
		if err != nil {
			fmt.Println(err)
			return
		}
		history = append(history, se)
		prev = se.Hash
	}
	keys := func(string) [][]byte { return [][]byte{signer.PublicKey()} }
	fmt.Println(trace.VerifyHistory("st25-a", history, keys))

	history[0].Body = bytes.Replace(history[0].Body, []byte("06:30"), []byte("05:30"), 1)
	fmt.Println(trace.VerifyHistory("st25-a", history, keys) != nil)
	// Output:
	// <nil>
	// true
}

func ExampleEvent_Encode() {
	e := &trace.Event{Type: trace.ObjectEvent, Cooperative: "htx-hoa-tu", Batch: "st25-a",
		Action: "ADD", BizStep: "commissioning", EventTime: "2025-08-15T06:30:00+07:00", EventTimeZoneOffset: "+07:00",
		Quantity: &trace.Quantity{Value: "1250", Unit: "KGM"}}
	b, _ := e.Encode()
	fmt.Println(string(b))
	// Output:
	// {"action":"ADD","batch":"st25-a","bizStep":"commissioning","cooperative":"htx-hoa-tu","eventTime":"2025-08-15T06:30:00+07:00","eventTimeZoneOffset":"+07:00","quantity":{"unit":"KGM","value":"1250"},"seq":0,"type":"ObjectEvent","v":1}
}
