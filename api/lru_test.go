package api

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestLRU(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Minute)

	t.Run("forgets the least recently used", func(t *testing.T) {
		t.Parallel()
		c := newLRU[int](3)
		for i := range 3 {
			c.put(strconv.Itoa(i), i, later)
		}
		_, ok := c.get("0", now) // 0 is used: 1 is now the oldest
		require.True(t, ok)
		c.put("3", 3, later)
		_, ok = c.get("1", now)
		require.False(t, ok, "the least recently used entry is kept")
		for _, k := range []string{"0", "2", "3"} {
			v, ok := c.get(k, now)
			require.True(t, ok, k)
			require.Equal(t, k, strconv.Itoa(v))
		}
		require.Equal(t, 3, c.len())
	})

	t.Run("a put refreshes", func(t *testing.T) {
		t.Parallel()
		c := newLRU[int](2)
		c.put("a", 1, later)
		c.put("b", 2, later)
		c.put("a", 10, later) // b is the oldest now
		c.put("c", 3, later)
		v, ok := c.get("a", now)
		require.True(t, ok)
		require.Equal(t, 10, v)
		_, ok = c.get("b", now)
		require.False(t, ok)
	})

	t.Run("expiry", func(t *testing.T) {
		t.Parallel()
		c := newLRU[int](2)
		c.put("a", 1, now.Add(time.Second))
		_, ok := c.get("a", now.Add(time.Second))
		require.True(t, ok, "live until its expiry")
		_, ok = c.get("a", now.Add(time.Second+1))
		require.False(t, ok)
		require.Zero(t, c.len(), "an expired entry is removed when met")
	})

	t.Run("remove", func(t *testing.T) {
		t.Parallel()
		c := newLRU[int](2)
		c.put("a", 1, later)
		c.remove("a")
		c.remove("never there")
		_, ok := c.get("a", now)
		require.False(t, ok)
		require.Zero(t, c.len())
	})
}

// A key found after a miss for the same hash (a key created meanwhile) is
// no longer a miss, and the other way round.
func TestKeyCacheOutcomesReplaceEachOther(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	c := newKeyCache()
	c.put("h", nil, now)
	k, known := c.get("h", now)
	require.True(t, known)
	require.Nil(t, k)

	found := &nurture.APIKey{ID: 7}
	c.put("h", found, now)
	k, known = c.get("h", now)
	require.True(t, known)
	require.Same(t, found, k)

	c.put("h", nil, now)
	k, known = c.get("h", now)
	require.True(t, known)
	require.Nil(t, k)
	_, known = c.get("h", now.Add(keyCacheMissTTL+time.Nanosecond))
	require.False(t, known, "a miss is remembered for keyCacheMissTTL")
}
