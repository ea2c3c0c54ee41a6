package templates

import (
	"sync"
	"sync/atomic"
)

// memo remembers the results of a pure function of a few values that
// every email of a template asks for again (the product's URL resolved
// against a literal path, whether a link may be tracked), up to max
// entries, in case the values come from the data.
type memo[K comparable, V any] struct {
	m   sync.Map // K -> V
	n   atomic.Int64
	max int64
}

func (c *memo[K, V]) get(k K, f func(K) V) V {
	if v, ok := c.m.Load(k); ok {
		return v.(V)
	}
	v := f(k)
	if c.n.Load() < c.max {
		if _, loaded := c.m.LoadOrStore(k, v); !loaded {
			c.n.Add(1)
		}
	}
	return v
}
