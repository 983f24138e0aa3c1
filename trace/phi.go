package trace

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Pre-harvest intervals. A spraying records the product used and its
// withholding period as printed on its label (data "phi_days"): the lot
// may not be harvested until that many days after the spraying. A harvest
// recorded before then is refused at entry unless the clerk confirms it
// with a reason, which is signed into the harvest event under
// DataIntervalOverride; the inspection finding (FindingPreHarvestInterval)
// stays either way, with the reason as evidence.

// DataIntervalOverride is the data name, on a harvest recorded inside a
// spraying's pre-harvest interval, of the clerk's reason for recording it
// anyway.
const DataIntervalOverride = "interval_override_reason"

// PHIConflict is a spraying whose pre-harvest interval had not passed at
// a harvest.
type PHIConflict struct {
	Spraying         Hash   // the spraying event
	Product          string // the product sprayed, as recorded
	ActiveIngredient string
	PHIDays          string    // its interval in days, as recorded
	SprayedAt        time.Time // in the spraying's own offset
	SafeFrom         time.Time // the first moment a harvest is allowed
	HarvestAt        time.Time
}

// Remaining is how long after the harvest the interval ends.
func (c PHIConflict) Remaining() time.Duration { return c.SafeFrom.Sub(c.HarvestAt) }

// DaysBetween is the time from the spraying to the harvest, in days.
func (c PHIConflict) DaysBetween() float64 { return c.HarvestAt.Sub(c.SprayedAt).Hours() / 24 }

// PHIConflicts returns the sprayings among events (a lot's events as
// readers show them, corrections in place: see EffectiveEvents) whose
// pre-harvest interval has not passed at the harvest time at.
func PHIConflicts(events []*SignedEvent, at time.Time) []PHIConflict {
	var out []PHIConflict
	for _, se := range events {
		e := se.Event
		days, err := strconv.ParseFloat(strings.Replace(e.Data["phi_days"], ",", ".", 1), 64)
		if err != nil || days <= 0 || days > 3650 {
			continue
		}
		sprayed := e.Time()
		safe := sprayed.Add(time.Duration(days * 24 * float64(time.Hour)))
		if at.Before(sprayed) || !at.Before(safe) {
			continue
		}
		out = append(out, PHIConflict{Spraying: se.Hash, Product: e.Data["product"], ActiveIngredient: e.Data["active_ingredient"],
			PHIDays: e.Data["phi_days"], SprayedAt: sprayed, SafeFrom: safe.In(sprayed.Location()), HarvestAt: at})
	}
	return out
}

// PHIError refuses a harvest recorded inside a spraying's pre-harvest
// interval without a reason (DataIntervalOverride). Its message is in
// Vietnamese, for the clerk at the step form: which spraying, which
// product, how long remains; English gives it in English.
type PHIError struct {
	Conflicts []PHIConflict
}

// Field is the field the confirmation goes in.
func (e *PHIError) Field() string { return "data." + DataIntervalOverride }

func (e *PHIError) Error() string {
	parts := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		what := c.Product
		if c.ActiveIngredient != "" {
			what += " (hoạt chất " + c.ActiveIngredient + ")"
		}
		parts[i] = fmt.Sprintf("lô đã phun %s lúc %s, thời gian cách ly %s ngày: phải đến %s mới được thu hoạch, còn %s nữa",
			what, TimeVI(c.SprayedAt), FormatNumberVI(c.PHIDays), TimeVI(c.SafeFrom), remainingVI(c.Remaining()))
	}
	return "Chưa hết thời gian cách ly: " + strings.Join(parts, "; ") +
		". Nếu vẫn ghi thu hoạch, hãy xác nhận và ghi rõ lý do; lý do được ký cùng bước thu hoạch và cán bộ kiểm tra vẫn thấy phát hiện này."
}

// English says the same in English.
func (e *PHIError) English() string {
	parts := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		what := c.Product
		if c.ActiveIngredient != "" {
			what += " (" + c.ActiveIngredient + ")"
		}
		parts[i] = fmt.Sprintf("the lot was sprayed with %s at %s, whose pre-harvest interval is %s days: it may be harvested from %s, %s from now",
			what, c.SprayedAt.Format("2006-01-02 15:04"), c.PHIDays, c.SafeFrom.Format("2006-01-02 15:04"), remainingEN(c.Remaining()))
	}
	return "the pre-harvest interval has not passed: " + strings.Join(parts, "; ") +
		"; to record the harvest anyway, confirm it with a reason in data." + DataIntervalOverride
}

// Unwrap makes a PHIError an invalid request.
func (e *PHIError) Unwrap() error { return ErrInvalid }

// remainingVI says a duration as a clerk counts it: whole days, rounded
// up, or hours under a day.
func remainingVI(d time.Duration) string {
	if d >= 24*time.Hour {
		return strconv.Itoa(int(math.Ceil(d.Hours()/24))) + " ngày"
	}
	return strconv.Itoa(max(1, int(math.Ceil(d.Hours())))) + " giờ"
}

func remainingEN(d time.Duration) string {
	if d >= 24*time.Hour {
		n := int(math.Ceil(d.Hours() / 24))
		if n == 1 {
			return "1 day"
		}
		return strconv.Itoa(n) + " days"
	}
	n := max(1, int(math.Ceil(d.Hours())))
	if n == 1 {
		return "1 hour"
	}
	return strconv.Itoa(n) + " hours"
}

// TimeVI writes a time the Vietnamese way, day first, in its own
// offset: 02/04/2026 07:00.
func TimeVI(t time.Time) string { return t.Format("02/01/2006 15:04") }

// EventTimeVI writes an event time (RFC 3339) with TimeVI; anything else
// as it is.
func EventTimeVI(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return TimeVI(t)
}
