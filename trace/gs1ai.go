package trace

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// GS1 application identifiers (AIs) as truyxuat reads them in a Digital
// Link. The table below lists every AI of the GS1 General Specifications
// with what a Digital Link needs to know about it:
//
//   - its role: a primary key (k) that can root a Digital Link path, a data
//     attribute (a) that may stand in the query string, both, or neither (-);
//   - the form of its value: one or more parts, each a character set and a
//     length with optional checks;
//   - the AIs it needs beside it and the AIs it may not appear with;
//   - for a primary key, the key qualifiers it takes in the path, in order.
//
// The content follows GS1's Barcode Syntax Dictionary; GS1's reference
// syntax engine reads the same rules. Each line:
//
//	AI[-AI]  roles  part...  [path=Q,Q|Q] [needs=A,B+C] [never=A,B]  # name
//
// A part is a character set (n digits, x GS1 character set 82, y GS1
// character set 39, z base64url) and a length (n6 exactly six, x..20 one to
// twenty), in brackets when optional, followed by its checks after '/'.
// needs lists alternatives, one of which must be present (B+C: both B and
// C); a line can have several needs, each of which must hold. In needs and
// never, a 'n' stands for any digit. path lists alternative qualifier
// sequences separated by '|'; a link uses some of one sequence, in order.
//
// Checks: csum (GS1 mod-10 check digit), gcp (starts with a company prefix:
// four digits; gcp2 from the second character), date (YYMMDD), date0
// (YYMMDD or YYMM00), date8 (YYYYMMDD), hh, mi, ss, hhmi, cc (ISO 3166-1
// numeric country code), cc999 (a country code or 999), cc2 (ISO 3166-1
// alpha-2), yesno, hyphen, zero, nonzero, winding, piece (piece of total),
// nz0 (no leading zero), nondigit (has a non-digit), pcenc (valid
// percent-escapes), lat, lon, imp (importer index), seq (position in
// sequence, such as 1/2), sex (ISO 5218). The checks cur (ISO 4217
// currency), media, gmn (GMN check characters), iban, coupon, couponpos and
// pkg are named but not performed: such values are checked for their
// character set and length only.
const gs1AITable = `
00         ka  n18/csum                   path=                            # SSCC
01         ka  n14/csum                   path=22,10,21|235 never=255,37   # GTIN
02          a  n14/csum                   never=01,03 needs=37             # GTIN of contained trade items
03          -  n14/csum                   never=01,02,37                   # GTIN made to order
10          a  x..20                      needs=01,02,03,8006,8026         # batch or lot number
11          a  n6/date0                   needs=01,02,03,8006,8026         # production date
12          a  n6/date0                   needs=8020                       # due date
13          a  n6/date0                   needs=01,02,03,8006,8026         # packaging date
15          a  n6/date0                   needs=01,02,03,8006,8026         # best before date
16          a  n6/date0                   needs=01,02,03,8006,8026         # sell by date
17          a  n6/date0                   needs=01,02,03,255,8006,8026     # expiry date
20          a  n2                         needs=01,02,8006,8026            # internal product variant
21          -  x..20                      needs=01,03,8006 never=235       # serial number
22          -  x..20                      needs=01                         # consumer product variant
235         -  x..28                      needs=01                         # third-party serial extension
240         a  x..30                      needs=01,02,8006,8026            # additional product id
241         a  x..30                      needs=01,02,8006,8026            # customer part number
242         a  n..6                       needs=01,02,8006,8026            # made-to-order variant
243         a  x..20                      needs=01                         # packaging component number
250         a  x..30                      needs=01,8006 needs=21           # secondary serial number
251         a  x..30                      needs=01,8006                    # reference to source entity
253        ka  n13/csum/gcp [x..17]       path=                            # GDTI document type
254         -  x..20                      needs=414                        # GLN extension component
255        ka  n13/csum/gcp [n..12]       path= never=01,02,415,8006,8020,8026  # GCN coupon
30          a  n..8                       needs=01,02                      # variable count
3100-3105   a  n6                         needs=01,02 never=310n           # net weight, kg
3110-3115   a  n6                         needs=01,02 never=311n           # length, m
3120-3125   a  n6                         needs=01,02 never=312n           # width, m
3130-3135   a  n6                         needs=01,02 never=313n           # height, m
3140-3145   a  n6                         needs=01,02 never=314n           # area, m²
3150-3155   a  n6                         needs=01,02 never=315n           # net volume, l
3160-3165   a  n6                         needs=01,02 never=316n           # net volume, m³
3200-3205   a  n6                         needs=01,02 never=320n           # net weight, lb
3210-3215   a  n6                         needs=01,02 never=321n           # length, in
3220-3225   a  n6                         needs=01,02 never=322n           # length, ft
3230-3235   a  n6                         needs=01,02 never=323n           # length, yd
3240-3245   a  n6                         needs=01,02 never=324n           # width, in
3250-3255   a  n6                         needs=01,02 never=325n           # width, ft
3260-3265   a  n6                         needs=01,02 never=326n           # width, yd
3270-3275   a  n6                         needs=01,02 never=327n           # height, in
3280-3285   a  n6                         needs=01,02 never=328n           # height, ft
3290-3295   a  n6                         needs=01,02 never=329n           # height, yd
3300-3305   a  n6                         needs=00,01 never=330n           # gross weight, kg
3310-3315   a  n6                         needs=00,01 never=331n           # logistic length, m
3320-3325   a  n6                         needs=00,01 never=332n           # logistic width, m
3330-3335   a  n6                         needs=00,01 never=333n           # logistic height, m
3340-3345   a  n6                         needs=00,01 never=334n           # logistic area, m²
3350-3355   a  n6                         needs=00,01 never=335n           # logistic volume, l
3360-3365   a  n6                         needs=00,01 never=336n           # logistic volume, m³
3370-3375   a  n6                         needs=01 never=337n              # kilograms per m²
3400-3405   a  n6                         needs=00,01 never=340n           # gross weight, lb
3410-3415   a  n6                         needs=00,01 never=341n           # logistic length, in
3420-3425   a  n6                         needs=00,01 never=342n           # logistic length, ft
3430-3435   a  n6                         needs=00,01 never=343n           # logistic length, yd
3440-3445   a  n6                         needs=00,01 never=344n           # logistic width, in
3450-3455   a  n6                         needs=00,01 never=345n           # logistic width, ft
3460-3465   a  n6                         needs=00,01 never=346n           # logistic width, yd
3470-3475   a  n6                         needs=00,01 never=347n           # logistic height, in
3480-3485   a  n6                         needs=00,01 never=348n           # logistic height, ft
3490-3495   a  n6                         needs=00,01 never=349n           # logistic height, yd
3500-3505   a  n6                         needs=01,02 never=350n           # area, in²
3510-3515   a  n6                         needs=01,02 never=351n           # area, ft²
3520-3525   a  n6                         needs=01,02 never=352n           # area, yd²
3530-3535   a  n6                         needs=00,01 never=353n           # logistic area, in²
3540-3545   a  n6                         needs=00,01 never=354n           # logistic area, ft²
3550-3555   a  n6                         needs=00,01 never=355n           # logistic area, yd²
3560-3565   a  n6                         needs=01,02 never=356n           # net weight, troy oz
3570-3575   a  n6                         needs=01,02 never=357n           # net volume, oz
3600-3605   a  n6                         needs=01,02 never=360n           # net volume, qt
3610-3615   a  n6                         needs=01,02 never=361n           # net volume, gal
3620-3625   a  n6                         needs=00,01 never=362n           # logistic volume, qt
3630-3635   a  n6                         needs=00,01 never=363n           # logistic volume, gal
3640-3645   a  n6                         needs=01,02 never=364n           # net volume, in³
3650-3655   a  n6                         needs=01,02 never=365n           # net volume, ft³
3660-3665   a  n6                         needs=01,02 never=366n           # net volume, yd³
3670-3675   a  n6                         needs=00,01 never=367n           # logistic volume, in³
3680-3685   a  n6                         needs=00,01 never=368n           # logistic volume, ft³
3690-3695   a  n6                         needs=00,01 never=369n           # logistic volume, yd³
37          a  n..8                       needs=00 needs=02,8026           # count of trade items
3900-3909   a  n..15                      needs=255,8020 never=390n,391n,394n,8111  # amount payable
3910-3919   a  n3/cur n..15               needs=8020 never=391n            # amount payable with currency
3920-3929   a  n..15                      needs=01 needs=30,31nn,32nn,35nn,36nn never=392n,393n  # price
3930-3939   a  n3/cur n..15               needs=30,31nn,32nn,35nn,36nn never=393n  # price with currency
3940-3943   a  n4                         needs=255 never=394n,8111        # percentage discount
3950-3955   a  n6                         needs=30,31nn,32nn,35nn,36nn never=392n,393n,395n,8005  # price per unit of measure
400         a  x..30                                                       # customer order number
401        ka  x..30/gcp                  path=                            # GINC consignment
402        ka  n17/csum/gcp               path=                            # GSIN shipment
403         a  x..30                      needs=00                         # routing code
410         a  n13/csum/gcp                                                # ship to GLN
411         a  n13/csum/gcp                                                # bill to GLN
412         a  n13/csum/gcp                                                # purchased from GLN
413         a  n13/csum/gcp                                                # ship for GLN
414        ka  n13/csum/gcp               path=254|7040                    # GLN of a location
415        ka  n13/csum/gcp               needs=8020 path=8020             # GLN of the invoicing party
416         a  n13/csum/gcp                                                # GLN of the production place
417        ka  n13/csum/gcp               path=7040                        # GLN of a party
420         a  x..20                      never=421                        # ship to postal code
421         a  n3/cc x..9                 never=4307                       # ship to postal code with country
422         a  n3/cc                      needs=01,02,8006,8026 never=426  # country of origin
423         a  n3/cc [n3/cc] [n3/cc] [n3/cc] [n3/cc]  needs=01,02 never=426  # countries of initial processing
424         a  n3/cc                      needs=01,02 never=426            # country of processing
425         a  n3/cc [n3/cc] [n3/cc] [n3/cc] [n3/cc]  needs=01,02 never=426  # countries of disassembly
426         a  n3/cc                      needs=01,02                      # country of the whole processing
427         a  x..3                       needs=01,02 needs=422            # subdivision of origin
4300        a  x..35/pcenc                needs=00                         # ship to company
4301        a  x..35/pcenc                needs=00                         # ship to contact
4302        a  x..70/pcenc                needs=00                         # ship to address line 1
4303        a  x..70/pcenc                needs=4302                       # ship to address line 2
4304        a  x..70/pcenc                needs=00                         # ship to suburb
4305        a  x..70/pcenc                needs=00                         # ship to locality
4306        a  x..70/pcenc                needs=00                         # ship to region
4307        a  x2/cc2                     needs=00                         # ship to country
4308        a  x..30                      needs=00                         # ship to telephone
4309        a  n10/lat n10/lon            needs=00                         # ship to geolocation
4310        a  x..35/pcenc                needs=00                         # return to company
4311        a  x..35/pcenc                needs=00                         # return to contact
4312        a  x..70/pcenc                needs=00                         # return to address line 1
4313        a  x..70/pcenc                needs=4312                       # return to address line 2
4314        a  x..70/pcenc                needs=00                         # return to suburb
4315        a  x..70/pcenc                needs=00                         # return to locality
4316        a  x..70/pcenc                needs=00                         # return to region
4317        a  x2/cc2                     needs=00                         # return to country
4318        a  x..20                      needs=00                         # return to postal code
4319        a  x..30                      needs=00                         # return to telephone
4320        a  x..35/pcenc                needs=00                         # service description
4321        a  n1/yesno                   needs=00                         # dangerous goods
4322        a  n1/yesno                   needs=00                         # authority to leave
4323        a  n1/yesno                   needs=00                         # signature required
4324        a  n6/date0 n4/hhmi           needs=00                         # not before delivery date and time
4325        a  n6/date0 n4/hhmi           needs=00                         # not after delivery date and time
4326        a  n6/date                    needs=00                         # release date
4330        a  n6 [x1/hyphen]             needs=00 never=4331              # maximum temperature, °F
4331        a  n6 [x1/hyphen]             needs=00 never=4330              # maximum temperature, °C
4332        a  n6 [x1/hyphen]             needs=00 never=4333              # minimum temperature, °F
4333        a  n6 [x1/hyphen]             needs=00 never=4332              # minimum temperature, °C
7001        a  n13                        needs=01,02,8006,8026            # NATO stock number
7002        a  x..30                      needs=01,02                      # meat carcass classification
7003        a  n6/date n4/hhmi            needs=01,02                      # expiry date and time
7004        a  n..4                       needs=01 needs=10                # active potency
7005        a  x..12                      needs=01,02                      # catch area
7006        a  n6/date                    needs=01,02                      # first freeze date
7007        a  n6/date [n6/date]          needs=01,02                      # harvest date
7008        a  x..3                       needs=01,02                      # aquatic species
7009        a  x..10                      needs=01,02                      # fishing gear type
7010        a  x..2                       needs=01,02                      # production method
7011        a  n6/date [n4/hhmi]          needs=01,02                      # test by date
7020        a  x..20                      needs=01,8006 needs=416          # refurbishment lot
7021        a  x..20                      needs=01,8006                    # functional status
7022        a  x..20                      needs=7021                       # revision status
7023        a  x..30/gcp                                                   # GIAI of an assembly
7030-7039   a  n3/cc999 x..27             needs=01,02                      # approval number of a processor
7040        -  n1 x1 x1 x1/imp                                             # UIC with extension
7041        -  x..4/pkg                   needs=00                         # freight unit type
710-716     a  x..20                      needs=01                         # national healthcare reimbursement number
7230-7239   a  x2 x..28                   needs=01,8004                    # certification reference
7240        a  x..20                      needs=01,8006                    # protocol id
7241        a  n2/media                   needs=8017,8018                  # AIDC media type
7242        a  x..25                      needs=8017,8018                  # version control number
7250        a  n8/date8                   needs=8018 never=7251            # date of birth
7251        a  n8/date8 n4/hhmi           needs=8018 never=7250            # date and time of birth
7252        a  n1/sex                     needs=8018                       # biological sex
7253        a  x..40/pcenc                needs=8017,8018 never=7256,7259  # family name
7254        a  x..40/pcenc                needs=8017,8018 never=7256,7259  # given name
7255        a  x..10                      needs=8017,8018 never=7256,7259  # name suffix
7256        a  x..90/pcenc                needs=8017,8018                  # full name
7257        a  x..70/pcenc                needs=8018                       # address of a person
7258        a  x3/seq                     needs=8018+7259                  # birth sequence
7259        a  x..40/pcenc                needs=8018 never=7256            # baby
8001        a  n4/nonzero n5/nonzero n3/nonzero n1/winding n1  needs=01  # roll dimensions
8002        a  x..20                                                       # mobile phone identifier
8003       ka  n1/zero n13/csum/gcp [x..16]  path=                         # GRAI returnable asset
8004       ka  x..30/gcp                  path=7040                        # GIAI individual asset
8005        a  n6                         needs=01,02                      # price per unit
8006       ka  n14/csum/gcp2 n4/piece     never=01,37 path=22,10,21        # ITIP piece of a trade item
8007        a  x..34/iban                 needs=415                        # bank account
8008        a  n6/date n2/hh [n2/mi] [n2/ss]  needs=01,02                  # production date and time
8009        a  x..50                      needs=00,01                      # optically readable sensor
8010       ka  y..30/gcp                  path=8011                        # CPID component
8011        -  n..12/nz0                  needs=8010                       # CPID serial
8012        a  x..20                      needs=01,8006                    # software version
8013       ka  x..25/gmn/gcp              path=                            # GMN model number
8014        -  x..25/gmn/gcp/nondigit     needs=01                         # MUDI
8017       ka  n18/csum/gcp               never=8018 path=8019             # GSRN of a provider
8018       ka  n18/csum/gcp               never=8017 path=8019             # GSRN of a recipient
8019        -  n..10                      needs=8017,8018                  # service relation instance
8020        -  x..25                      needs=415                        # payment slip reference
8026        a  n14/csum/gcp2 n4/piece     needs=37 never=02,8006           # ITIP of contained pieces
8030        a  z..90                      needs=00,01+21,253,255,8003,8004,8006+21,8010+8011,8017,8018  # digital signature
8110        a  x..70/coupon                                                # coupon code
8111        a  n4                         needs=255                        # loyalty points
8112        a  x..70/couponpos                                             # positive offer coupon code
8200        -  x..70                      needs=01                         # brand owner's product URL
90          a  x..30                                                       # internal, agreed between partners
91-99       a  x..90                                                       # internal to a company
`

// aiPart is one part of an AI's value.
type aiPart struct {
	set      byte // 'n', 'x', 'y' or 'z'
	min, max int
	optional bool
	checks   []string
}

// aiRule is what truyxuat knows of one AI.
type aiRule struct {
	ai         string
	name       string
	key        bool       // a Digital Link primary key
	attr       bool       // may be a data attribute in a Digital Link query
	parts      []aiPart   // the value, part by part
	qualifiers [][]string // for a key: alternative qualifier sequences
	needs      [][][]string
	never      []string
}

var (
	aiRulesOnce sync.Once
	aiRules     map[string]*aiRule
)

// lookupAI returns the rule of ai, or nil for a string that is not a GS1 AI.
func lookupAI(ai string) *aiRule {
	aiRulesOnce.Do(func() {
		r, err := parseAITable(gs1AITable)
		if err != nil {
			panic(err) // the table is a constant: a test parses it
		}
		aiRules = r
	})
	return aiRules[ai]
}

func parseAITable(table string) (map[string]*aiRule, error) {
	rules := make(map[string]*aiRule)
	for n, line := range strings.Split(table, "\n") {
		line, name, _ := strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("AI table line %d: want AI, roles and value", n)
		}
		first, last, isRange := strings.Cut(f[0], "-")
		if !isRange {
			last = first
		}
		if !dlIsDigits(first) || len(first) != len(last) || last < first {
			return nil, fmt.Errorf("AI table line %d: bad AI %q", n, f[0])
		}
		proto := aiRule{name: strings.TrimSpace(name)}
		switch f[1] {
		case "ka":
			proto.key, proto.attr = true, true
		case "a":
			proto.attr = true
		case "-":
		default:
			return nil, fmt.Errorf("AI table line %d: bad roles %q", n, f[1])
		}
		for _, tok := range f[2:] {
			switch {
			case strings.HasPrefix(tok, "path="):
				if !proto.key {
					return nil, fmt.Errorf("AI table line %d: path= on an AI that is no key", n)
				}
				v := strings.TrimPrefix(tok, "path=")
				if v == "" {
					proto.qualifiers = [][]string{nil}
					continue
				}
				for alt := range strings.SplitSeq(v, "|") {
					proto.qualifiers = append(proto.qualifiers, strings.Split(alt, ","))
				}
			case strings.HasPrefix(tok, "needs="):
				var alts [][]string
				for alt := range strings.SplitSeq(strings.TrimPrefix(tok, "needs="), ",") {
					alts = append(alts, strings.Split(alt, "+"))
				}
				proto.needs = append(proto.needs, alts)
			case strings.HasPrefix(tok, "never="):
				proto.never = append(proto.never, strings.Split(strings.TrimPrefix(tok, "never="), ",")...)
			default:
				p, err := parseAIPart(tok)
				if err != nil {
					return nil, fmt.Errorf("AI table line %d: %v", n, err)
				}
				if len(proto.needs) > 0 || len(proto.never) > 0 || len(proto.qualifiers) > 0 {
					return nil, fmt.Errorf("AI table line %d: value part %q after the rules", n, tok)
				}
				proto.parts = append(proto.parts, p)
			}
		}
		if len(proto.parts) == 0 {
			return nil, fmt.Errorf("AI table line %d: no value", n)
		}
		if proto.key != (len(proto.qualifiers) > 0) {
			return nil, fmt.Errorf("AI table line %d: a primary key, and only a key, has path=", n)
		}
		for ai := first; ai <= last; ai = dlIncrement(ai) {
			if rules[ai] != nil {
				return nil, fmt.Errorf("AI table line %d: AI %s twice", n, ai)
			}
			r := proto
			r.ai = ai
			rules[ai] = &r
			if ai == last {
				break
			}
		}
	}
	return rules, nil
}

// dlIncrement adds one to a string of digits of fixed width.
func dlIncrement(s string) string {
	b := []byte(s)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return s
}

func parseAIPart(tok string) (aiPart, error) {
	var p aiPart
	if inner, ok := strings.CutPrefix(tok, "["); ok {
		// "[n6/date]": an optional part, its checks inside the brackets.
		if tok, ok = strings.CutSuffix(inner, "]"); !ok {
			return p, fmt.Errorf("bad value part %q", inner)
		}
		p.optional = true
	}
	spec, checks, _ := strings.Cut(tok, "/")
	if spec == "" || !strings.ContainsRune("nxyz", rune(spec[0])) {
		return p, fmt.Errorf("bad value part %q", tok)
	}
	p.set = spec[0]
	length := spec[1:]
	variable := strings.HasPrefix(length, "..")
	length = strings.TrimPrefix(length, "..")
	n := 0
	if !dlIsDigits(length) {
		return p, fmt.Errorf("bad length in %q", tok)
	}
	for i := 0; i < len(length); i++ {
		n = n*10 + int(length[i]-'0')
	}
	p.min, p.max = n, n
	if variable {
		p.min = 1
	}
	if checks != "" {
		p.checks = strings.Split(checks, "/")
		for _, c := range p.checks {
			if _, ok := aiChecks[c]; !ok {
				return p, fmt.Errorf("unknown check %q in %q", c, tok)
			}
		}
	}
	return p, nil
}

// aiMatches reports whether ai matches a pattern of needs or never, where
// 'n' stands for any digit.
func aiMatches(pattern, ai string) bool {
	if len(pattern) != len(ai) {
		return false
	}
	for i := 0; i < len(ai); i++ {
		if pattern[i] != 'n' && pattern[i] != ai[i] {
			return false
		}
	}
	return true
}

// checkValue checks v against the value parts of r. It returns a reason
// in plain words, or "" when v is good.
func (r *aiRule) checkValue(v string) string {
	rest := v
	for i, p := range r.parts {
		if rest == "" {
			if p.optional {
				break
			}
			if i == 0 {
				return "has an empty value"
			}
			return fmt.Sprintf("is too short: %s", r.describe())
		}
		n := p.max
		if len(rest) < n {
			if p.min == p.max {
				return fmt.Sprintf("is too short: %s", r.describe())
			}
			n = len(rest)
		}
		part := rest[:n]
		rest = rest[n:]
		if why := checkCharset(p.set, part); why != "" {
			return why
		}
		for _, c := range p.checks {
			if check := aiChecks[c]; check != nil {
				if why := check(part); why != "" {
					return why
				}
			}
		}
	}
	if rest != "" {
		return fmt.Sprintf("is too long: %s", r.describe())
	}
	return ""
}

// describe says in words how long the value of r is.
func (r *aiRule) describe() string {
	total, fixed, digits := 0, true, true
	for _, p := range r.parts {
		total += p.max
		fixed = fixed && !p.optional && p.min == p.max
		digits = digits && p.set == 'n'
	}
	kind := "characters"
	if digits {
		kind = "digits"
	}
	if fixed {
		return fmt.Sprintf("GS1 requires %d %s", total, kind)
	}
	return fmt.Sprintf("GS1 allows at most %d %s", total, kind)
}

func checkCharset(set byte, s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := false
		switch set {
		case 'n':
			ok = '0' <= c && c <= '9'
		case 'x':
			ok = isCSet82(c)
		case 'y':
			ok = 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '#' || c == '-' || c == '/'
		case 'z':
			ok = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' ||
				c == '=' && strings.Trim(s[i:], "=") == ""
		}
		if ok {
			continue
		}
		if c >= 0x80 {
			return "has a character that is not allowed: GS1 values use only unaccented ASCII (Vietnamese letters with diacritics must be written without them)"
		}
		switch set {
		case 'n':
			return fmt.Sprintf("must be digits only, found %q at position %d", c, i+1)
		case 'x':
			return fmt.Sprintf("has %q at position %d, which is not in GS1 character set 82 (letters, digits and !\"%%&'()*+,-./:;<=>?_ only)", c, i+1)
		case 'y':
			return fmt.Sprintf("has %q at position %d; it allows only capital letters, digits and # - /", c, i+1)
		default:
			return fmt.Sprintf("has %q at position %d; it allows only base64url characters", c, i+1)
		}
	}
	return ""
}

// aiChecks are the content checks of value parts, by name. Each returns ""
// for a good part or the reason it is bad.
var aiChecks = map[string]func(string) string{
	"csum": func(s string) string {
		if want := checkDigit(s[:len(s)-1]); s[len(s)-1] != want {
			return fmt.Sprintf("has a bad check digit %c (expected %c)", s[len(s)-1], want)
		}
		return ""
	},
	"gcp":  func(s string) string { return checkGCP(s) },
	"gcp2": func(s string) string { return checkGCP(s[1:]) },
	"date": func(s string) string { return dlDateReason(s, false) },
	"date0": func(s string) string {
		return dlDateReason(s, true)
	},
	"date8": func(s string) string {
		year := 0
		for i := 0; i < 4; i++ {
			year = year*10 + int(s[i]-'0')
		}
		mm := int(s[4]-'0')*10 + int(s[5]-'0')
		dd := int(s[6]-'0')*10 + int(s[7]-'0')
		if mm < 1 || mm > 12 {
			return fmt.Sprintf("date %s has month %02d", s, mm)
		}
		if last := time.Date(year, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC).Day(); dd < 1 || dd > last {
			return fmt.Sprintf("date %s has day %02d, but that month has %d days", s, dd, last)
		}
		return ""
	},
	"hh": func(s string) string {
		if s > "23" {
			return fmt.Sprintf("has hour %s", s)
		}
		return ""
	},
	"mi": func(s string) string {
		if s > "59" {
			return fmt.Sprintf("has minute %s", s)
		}
		return ""
	},
	"ss": func(s string) string {
		if s > "59" {
			return fmt.Sprintf("has second %s", s)
		}
		return ""
	},
	"hhmi": func(s string) string {
		if s[:2] > "23" || s[2:] > "59" {
			return fmt.Sprintf("has time %s, which is not HHMM", s)
		}
		return ""
	},
	"cc": func(s string) string {
		if _, ok := iso3166Numeric[s]; !ok {
			return fmt.Sprintf("must be an ISO 3166 numeric country code (Vietnam is 704), got %q", s)
		}
		return ""
	},
	"cc999": func(s string) string {
		if _, ok := iso3166Numeric[s]; !ok && s != "999" {
			return fmt.Sprintf("must be an ISO 3166 numeric country code (Vietnam is 704) or 999, got %q", s)
		}
		return ""
	},
	"cc2": func(s string) string {
		if !iso3166Alpha2[s] {
			return fmt.Sprintf("must be an ISO 3166 two-letter country code (Vietnam is VN), got %q", s)
		}
		return ""
	},
	"yesno": func(s string) string { return oneOf(s, "0", "1") },
	"hyphen": func(s string) string {
		return oneOf(s, "-")
	},
	"zero":    func(s string) string { return oneOf(s, "0") },
	"winding": func(s string) string { return oneOf(s, "0", "1", "9") },
	"sex":     func(s string) string { return oneOf(s, "0", "1", "2", "9") },
	"nonzero": func(s string) string {
		if strings.Trim(s, "0") == "" {
			return "has a part that must not be zero"
		}
		return ""
	},
	"piece": func(s string) string {
		piece, total := s[:2], s[2:]
		if piece == "00" || total == "00" || piece > total {
			return fmt.Sprintf("has piece %s of %s, which is not a piece of a whole", piece, total)
		}
		return ""
	},
	"nz0": func(s string) string {
		if len(s) > 1 && s[0] == '0' {
			return "must not start with 0"
		}
		return ""
	},
	"nondigit": func(s string) string {
		if dlIsDigits(s) {
			return "must have a character other than a digit"
		}
		return ""
	},
	"pcenc": func(s string) string {
		if _, err := dlUnescape(s); err != nil {
			return fmt.Sprintf("has a %v", err)
		}
		return ""
	},
	"lat": func(s string) string {
		if s > "1800000000" {
			return "has a latitude beyond 90°"
		}
		return ""
	},
	"lon": func(s string) string {
		if s > "3600000000" {
			return "has a longitude beyond 180°"
		}
		return ""
	},
	"imp": func(s string) string {
		c := s[0]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			return ""
		}
		return fmt.Sprintf("has importer index %q, which must be a letter, digit, '-' or '_'", c)
	},
	"seq": func(s string) string {
		if s[1] != '/' || s[0] < '1' || s[0] > '9' || s[2] < '1' || s[2] > '9' || s[0] > s[2] {
			return fmt.Sprintf("must be a position in a sequence such as 1/2, got %q", s)
		}
		return ""
	},
	// Named but not performed (see gs1AITable).
	"cur": nil, "media": nil, "gmn": nil, "iban": nil, "coupon": nil, "couponpos": nil, "pkg": nil,
}

func oneOf(s string, allowed ...string) string {
	for _, a := range allowed {
		if s == a {
			return ""
		}
	}
	return fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), s)
}

func checkGCP(s string) string {
	if len(s) < 4 || !dlIsDigits(s[:4]) {
		return "must start with a GS1 company prefix (at least four digits)"
	}
	return ""
}

func dlDateReason(s string, zeroDay bool) string {
	if err := dlCheckDate(s, zeroDay); err != nil {
		return err.Error()
	}
	return ""
}
