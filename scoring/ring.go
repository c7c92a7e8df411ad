package scoring

// ring holds the last cap entries pushed; a zero-capacity ring holds none.
type ring struct {
	buf  []*entry
	next int // where the next push goes
	n    int
}

func newRing(capacity int) ring { return ring{buf: make([]*entry, capacity)} }

func (r *ring) push(e *entry) {
	if len(r.buf) == 0 {
		return
	}
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

func (r *ring) len() int { return r.n }

// each calls fn on the entries, oldest first, and returns how many.
func (r *ring) each(fn func(*entry)) int {
	start := (r.next - r.n + len(r.buf)) % max(len(r.buf), 1)
	for i := range r.n {
		fn(r.buf[(start+i)%len(r.buf)])
	}
	return r.n
}

func (r *ring) newest() (*entry, bool) {
	if r.n == 0 {
		return nil, false
	}
	return r.buf[(r.next-1+len(r.buf))%len(r.buf)], true
}
