package trace

import "testing"

func TestFindingDetailCertificate(t *testing.T) {
	f := Finding{Kind: FindingCertificateInvalid, Evidence: map[string]string{"scheme": "vietgap", "number": "VG-BT-0087",
		"valid_from": "2021-06-01", "valid_to": "2024-05-31", "harvest_date": "2025-10-06", "status": CertExpired}}
	if got, want := FindingDetail(f, "vi"), "Lô khai chứng nhận VietGAP số VG-BT-0087, nhưng chứng nhận này đã hết hiệu lực ngày 31/05/2024; lô thu hoạch ngày 06/10/2025."; got != want {
		t.Errorf("vi:\n got %s\nwant %s", got, want)
	}
	f.Evidence["status"] = CertNotYet
	if got, want := FindingDetail(f, "en"), "The lot claims VietGAP certificate VG-BT-0087, valid only from 01/06/2021; the lot was harvested on 06/10/2025."; got != want {
		t.Errorf("en:\n got %s\nwant %s", got, want)
	}
	if got := FindingTitle(FindingCertificateInvalid, "vi"); got != "Lô khai chứng nhận không còn hiệu lực khi thu hoạch" {
		t.Errorf("title %q", got)
	}
}
