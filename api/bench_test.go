package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPredictionHandler is one GET /v1/predictions/ETH-USDT through
// the whole Echo stack in process (no network): the server's CPU per request.
func BenchmarkPredictionHandler(b *testing.B) {
	for _, bc := range []struct {
		name string
		hdr  []string
	}{
		{"cached", nil},
		{"uncached", []string{"Cache-Control", "no-cache"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b, fixtureOpts{})
			f.feed(200) // warm rows
			if m := f.register(); m.Version > 0 {
				if err := f.reg.SetAlias(b.Context(), ethPair, 1, "champion", m.Version, "bench"); err != nil {
					b.Fatal(err)
				}
				if err := f.pred.Refresh(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			h := f.srv.Handler()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodGet, "/v1/predictions/ETH-USDT?horizon=1", nil)
					for i := 0; i+1 < len(bc.hdr); i += 2 {
						req.Header.Set(bc.hdr[i], bc.hdr[i+1])
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
