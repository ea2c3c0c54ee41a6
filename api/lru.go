package api

import (
	"container/list"
	"time"
)

// lru is a map of at most capacity entries that expire, and that forgets the
// least recently used entry to make room for a new one: a cache that outside
// input (wrong API keys, client addresses) can fill but never grow, and
// that keeps what is in use. It is not safe for concurrent use; its owner
// locks.
type lru[V any] struct {
	capacity int
	order    list.List // of *lruEntry[V], the most recently used first
	items    map[string]*list.Element
}

type lruEntry[V any] struct {
	key     string
	value   V
	expires time.Time
}

func newLRU[V any](capacity int) *lru[V] {
	return &lru[V]{capacity: capacity, items: make(map[string]*list.Element)}
}

// get returns the live entry for key and marks it used; an expired entry
// is removed.
func (c *lru[V]) get(key string, now time.Time) (V, bool) {
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*lruEntry[V])
	if now.After(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

// put stores value under key until expires, evicting the least recently
// used entry when the cache is full.
func (c *lru[V]) put(key string, value V, expires time.Time) {
	if el, ok := c.items[key]; ok {
		e := el.Value.(*lruEntry[V])
		e.value, e.expires = value, expires
		c.order.MoveToFront(el)
		return
	}
	if len(c.items) >= c.capacity {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry[V]).key)
	}
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, value: value, expires: expires})
}

// remove forgets key.
func (c *lru[V]) remove(key string) {
	if el, ok := c.items[key]; ok {
		c.order.Remove(el)
		delete(c.items, key)
	}
}

func (c *lru[V]) len() int { return len(c.items) }
