package label

import (
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// Benchmarks; figures and the command to reproduce them are in
// BENCHMARKS.md. They assert nothing about time.

func BenchmarkQRPNG(b *testing.B) {
	uri := testURI(b, "ST25/08&A+1")
	b.ReportAllocs()
	for b.Loop() {
		q, err := EncodeQR(uri, ECMedium)
		if err != nil {
			b.Fatal(err)
		}
		if err := q.WritePNG(io.Discard, 8); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "labels/s")
}

func BenchmarkQRSVG(b *testing.B) {
	uri := testURI(b, "ST25/08&A+1")
	b.ReportAllocs()
	for b.Loop() {
		q, err := EncodeQR(uri, ECMedium)
		if err != nil {
			b.Fatal(err)
		}
		if err := q.WriteSVG(io.Discard, 8); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "labels/s")
}

// peakMemory samples memory while fn runs and returns the peak of the heap
// in use (as runtime.MemStats.HeapInuse counts it) and of the memory the Go
// runtime has mapped and not returned to the OS (close to the process's
// resident size).
func peakMemory(fn func()) (heapInuse, total uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	var mu sync.Mutex
	read := func() {
		metrics.Read(samples)
		mu.Lock()
		heapInuse = max(heapInuse, samples[0].Value.Uint64()+samples[1].Value.Uint64())
		total = max(total, samples[2].Value.Uint64()-samples[3].Value.Uint64())
		mu.Unlock()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	fn()
	read()
	close(done)
	wg.Wait()
	return heapInuse, total
}

func benchmarkRun(b *testing.B, count int, write func(Job) error, distinct bool) {
	tmpl := rice(b)
	b.ReportAllocs()
	var peakHeap, peakTotal uint64
	for b.Loop() {
		var uris []string
		job := Job{Count: count, Item: Repeat(tmpl)}
		if distinct {
			// Every label its own serial number: the worst case, nothing shared.
			next := serialItems(b, tmpl, &uris)
			job.Item = func(i int) (Content, error) { uris = uris[:0]; return next(i) }
		}
		h, tot := peakMemory(func() {
			if err := write(job); err != nil {
				b.Fatal(err)
			}
		})
		peakHeap, peakTotal = max(peakHeap, h), max(peakTotal, tot)
	}
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peakTotal)/(1<<20), "peak-mapped-MB")
	b.ReportMetric(float64(count*b.N)/b.Elapsed().Seconds(), "labels/s")
}

func BenchmarkPDF10000(b *testing.B) {
	layout, _ := SheetLayoutByName("a4-3x8")
	write := func(j Job) error { return WritePDF(io.Discard, layout, j) }
	b.Run("serials", func(b *testing.B) { benchmarkRun(b, 10000, write, true) })
	b.Run("same", func(b *testing.B) { benchmarkRun(b, 10000, write, false) })
}

func BenchmarkZPL10000(b *testing.B) {
	layout, _ := RollLayoutByName("roll-50x30")
	write := func(j Job) error { return WriteZPL(io.Discard, layout, 300, j) }
	b.Run("serials", func(b *testing.B) { benchmarkRun(b, 10000, write, true) })
}
