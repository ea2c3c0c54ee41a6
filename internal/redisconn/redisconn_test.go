package redisconn_test

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/redisconn"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		url  string
		want redis.UniversalOptions
	}{
		{"one server", "redis://127.0.0.1:6379/0", redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}}},
		{"one server, password and database", "redis://:s3cret@cache:6380/3",
			redis.UniversalOptions{Addrs: []string{"cache:6380"}, Password: "s3cret", DB: 3}},
		{"one server, go-redis options", "redis://cache:6379/1?dial_timeout=2s&pool_size=7",
			redis.UniversalOptions{Addrs: []string{"cache:6379"}, DB: 1, DialTimeout: 2 * time.Second, PoolSize: 7}},
		{"sentinels with database", "redis-sentinel://10.0.0.1:26379,10.0.0.2:26380/mymaster/2",
			redis.UniversalOptions{Addrs: []string{"10.0.0.1:26379", "10.0.0.2:26380"}, MasterName: "mymaster", DB: 2}},
		{"sentinels, no database", "redis-sentinel://s1:26379,s2:26379,s3:26379/mymaster",
			redis.UniversalOptions{Addrs: []string{"s1:26379", "s2:26379", "s3:26379"}, MasterName: "mymaster"}},
		{"sentinel without a port", "redis-sentinel://s1,[::1]/mymaster/",
			redis.UniversalOptions{Addrs: []string{"s1:26379", "[::1]:26379"}, MasterName: "mymaster"}},
		{"IPv6 sentinel", "redis-sentinel://[::1]:26379/m/0",
			redis.UniversalOptions{Addrs: []string{"[::1]:26379"}, MasterName: "m"}},
		{"passwords and timeouts", "redis-sentinel://:p%40ss@s1:26379/mymaster/1?sentinel_password=sp&sentinel_username=su&dial_timeout=500ms&read_timeout=1s&write_timeout=2s",
			redis.UniversalOptions{Addrs: []string{"s1:26379"}, MasterName: "mymaster", DB: 1, Password: "p@ss",
				SentinelPassword: "sp", SentinelUsername: "su", DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: 2 * time.Second}},
		{"user and a password with an @", "redis-sentinel://app:a@b@s1:26379/m",
			redis.UniversalOptions{Addrs: []string{"s1:26379"}, MasterName: "m", Username: "app", Password: "a@b"}},
		{"scheme in capitals", "REDIS-SENTINEL://s1:26379/m/0",
			redis.UniversalOptions{Addrs: []string{"s1:26379"}, MasterName: "m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := redisconn.Parse(tc.url)
			require.NoError(t, err)
			got := o.Universal()
			got.TLSConfig = nil
			require.Equal(t, tc.want, *got)
			require.Equal(t, tc.want.MasterName != "", o.Sentinel())
			require.NotContains(t, o.String(), "s3cret")
			require.NotContains(t, o.String(), "p@ss")
		})
	}
}

func TestParseTLS(t *testing.T) {
	t.Parallel()
	o, err := redisconn.Parse("rediss://cache.example:6380/0")
	require.NoError(t, err)
	require.NotNil(t, o.Universal().TLSConfig)
	require.Equal(t, "cache.example", o.Universal().TLSConfig.ServerName)

	o, err = redisconn.Parse("rediss-sentinel://s1:26379,s2:26379/m/0?tls_server_name=redis.internal")
	require.NoError(t, err)
	require.True(t, o.Sentinel())
	require.NotNil(t, o.Universal().TLSConfig, "TLS to the sentinels and the servers")
	require.Equal(t, "redis.internal", o.Universal().TLSConfig.ServerName)
	o, err = redisconn.Parse("redis-sentinel://s1:26379/m/0")
	require.NoError(t, err)
	require.Nil(t, o.Universal().TLSConfig)
}

// Every mistake names the part that is wrong.
func TestParseRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url, says string
	}{
		{"no scheme", "localhost:6379", "want a URL like"},
		{"other scheme", "memcached://cache:11211", `scheme "memcached"`},
		{"cluster", "redis-cluster://n1:7000,n2:7000", "redis-cluster:// is not supported"},
		{"one server, bad database", "redis://cache:6379/zero", "zero"},
		{"one server, port 0", "redis://cache:0", `port "0"`},
		{"one server, no host", "redis://:6379/0", "no host"},
		{"no sentinels", "redis-sentinel:///mymaster/0", "no sentinels"},
		{"no master name", "redis-sentinel://s1:26379", "no master name"},
		{"empty master name", "redis-sentinel://s1:26379//0", "no master name"},
		{"bad database", "redis-sentinel://s1:26379/m/zero", `database "zero"`},
		{"negative database", "redis-sentinel://s1:26379/m/-1", `database "-1"`},
		{"database and more", "redis-sentinel://s1:26379/m/0/1", `database "0/1"`},
		{"bad port", "redis-sentinel://s1:26379,s2:x/m", `sentinel "s2:x"`},
		{"port out of range", "redis-sentinel://s1:70000/m", `sentinel "s1:70000"`},
		{"empty sentinel", "redis-sentinel://s1:26379,,s2/m", `sentinel ""`},
		{"unknown option", "redis-sentinel://s1/m?master=x", `query option "master"`},
		{"bad timeout", "redis-sentinel://s1/m?dial_timeout=5", `dial_timeout="5"`},
		{"bad escape in password", "redis-sentinel://:%zz@s1/m", "password"},
		{"a CA without TLS", "redis-sentinel://s1/m?tls_ca_file=/etc/ssl/ca.pem", "TLS needs rediss-sentinel://"},
		{"a CA file that is not there", "rediss-sentinel://s1/m?tls_ca_file=/nonexistent/ca.pem", "tls_ca_file"},
		{"a CA file without a certificate", "rediss-sentinel://s1/m?tls_ca_file=/dev/null", "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := redisconn.Parse(tc.url)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.says)
		})
	}
}

// FuzzParse: whatever it is given, Parse does not panic; what it accepts
// names at least one address, a Sentinel URL a master and every sentinel as
// host:port, and the same URL parses to the same options.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"redis://127.0.0.1:6379/0", "rediss://:pw@cache:6380/2?dial_timeout=1s",
		"redis-sentinel://s1:26379,s2:26379/mymaster/0", "redis-sentinel://:pw@[::1]/m?sentinel_password=x",
		"redis-sentinel://s1,s2,s3/m/", "rediss-sentinel://s1/m?tls_server_name=r", "redis-cluster://a:1", "redis-sentinel://a:b:c/m", "redis-sentinel://@/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		o, err := redisconn.Parse(raw)
		if err != nil {
			return
		}
		u := o.Universal()
		if len(u.Addrs) == 0 {
			t.Fatalf("%q: no address", raw)
		}
		if strings.HasPrefix(strings.ToLower(raw), "redis-sentinel://") {
			if u.MasterName == "" {
				t.Fatalf("%q: a sentinel URL without a master", raw)
			}
			for _, a := range u.Addrs {
				if _, err := redisconn.Parse("redis://" + a + "/0"); err != nil {
					t.Fatalf("%q: sentinel address %q is not host:port: %v", raw, a, err)
				}
			}
		}
		if u.DB < 0 {
			t.Fatalf("%q: database %d", raw, u.DB)
		}
		again, err := redisconn.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, u.Addrs, again.Universal().Addrs)
	})
}
