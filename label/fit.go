package label

import (
	"fmt"
	"math"
)

// fit is the arrangement chosen for one label: the QR module size and the
// text beside it, in millimetres from the label's top-left corner.
type fit struct {
	module float64 // mm per module
	qrX    float64
	qrY    float64
	lines  []textLine
}

// comfortPt is how far above the minimum the text should stay before the
// QR code gives up room for it.
const comfortPt = 1.5

// fitLabel chooses how big to print the QR code (size modules across,
// quiet zone included) on a w×h mm label with padding pad, its left edge at
// qrLeft: the largest of the legal module sizes in modules (descending)
// that leaves room for the text at a comfortable size, or failing that at
// the minimum size. A larger QR code scans more easily; small labels trade
// some of it for legible text, never going below the legal minimum.
func (tf *textFitter) fitLabel(c *Content, size int, w, h, pad, qrLeft float64, modules []float64, minPt, maxPt float64) (fit, error) {
	try := func(i int, lo float64, lenient bool) (fit, bool) {
		side := modules[i] * float64(size)
		textX := qrLeft + side
		lines, err := tf.layout(c, textX, pad, w-pad-textX, h-2*pad, lo, maxPt, lenient)
		if err != nil {
			return fit{}, false
		}
		return fit{module: modules[i], qrX: qrLeft, qrY: (h - side) / 2, lines: lines}, true
	}
	// First everything at a comfortable size, then at the smallest size,
	// then with long names cut short and optional lines left out; each
	// time with the largest QR code that allows it.
	passes := []struct {
		pt      float64
		lenient bool
	}{{math.Min(maxPt, minPt+comfortPt), false}, {minPt, false}, {minPt, true}}
	// A smaller QR code leaves a wider column, and text never needs more
	// lines in a wider column, so within a pass the sizes that work are a
	// suffix of modules: find where it starts by bisection.
	last := len(modules) - 1
	for _, p := range passes {
		best, ok := try(last, p.pt, p.lenient)
		if !ok {
			continue
		}
		lo, hi := 0, last // modules[hi] works
		for lo < hi {
			mid := (lo + hi) / 2
			if f, ok := try(mid, p.pt, p.lenient); ok {
				hi, best = mid, f
			} else {
				lo = mid + 1
			}
		}
		return best, nil
	}
	side := modules[last] * float64(size)
	return fit{}, fitErr(ErrTextDoesNotFit, "layout", fmt.Sprintf("the text does not fit in the %.1f×%.1f mm beside the QR code even at %g pt: use a larger label, or shorten the product or cooperative name, or print fewer certification marks",
		w-pad-qrLeft-side, h-2*pad, minPt))
}

// sheetModules lists module sizes for a symbol of size modules in a QR
// square of at most side mm, from the largest down to the smallest legal
// one in 5% steps; none if even the largest is too small.
func sheetModules(side float64, size int) []float64 {
	hi := side / float64(size)
	lo := math.Max(MinModuleMM, MinQRWidthMM/float64(size))
	if hi+mmEpsilon < lo {
		return nil
	}
	var out []float64
	for m := hi; m > lo+mmEpsilon; m *= 0.95 {
		out = append(out, m)
	}
	return append(out, lo)
}

// rollModules is sheetModules in whole printer dots.
func rollModules(side float64, size, dpi int) []float64 {
	dpmm := float64(dpi) / 25.4
	hi := int(math.Floor(side*dpmm+mmEpsilon)) / size
	lo := int(math.Ceil(math.Max(MinModuleMM*dpmm, MinQRWidthMM*dpmm/float64(size)) - mmEpsilon))
	var out []float64
	for d := hi; d >= lo && d > 0; d-- {
		out = append(out, float64(d)/dpmm)
	}
	return out
}
