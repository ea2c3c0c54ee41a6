// Package redisconn reads the URL that says where the engine's Redis is
// (NURTURE_REDIS_URL) and makes the clients every Redis user of the engine
// needs from it: asynq's connection option (the task queue, its servers,
// the inspector and the queue UI) and go-redis clients (the queue markers,
// the rate limits and the relay throttle).
//
// Two forms are understood: one Redis (redis:// and rediss://, read by
// go-redis's own parser, so its query options such as dial_timeout keep
// working) and a primary watched by Redis Sentinel (redis-sentinel://, or
// rediss-sentinel:// over TLS), whose clients ask the sentinels where the
// primary is and follow it through a failover. Redis Cluster is refused: asynq's Lua scripts touch
// keys of one queue that live in different hash slots.
//
// It only reads settings and builds clients; it knows nothing of what the
// engine keeps in Redis, and it never names a setting (cmd and
// internal/config add the name to its errors).
package redisconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Options say how to reach Redis: one server, or a primary found through
// its sentinels. The zero value is not usable; get one from Parse.
type Options struct {
	u redis.UniversalOptions
}

// DefaultSentinelPort is the port of a sentinel named without one.
const DefaultSentinelPort = 26379

// Scheme prefixes of the URL forms.
const (
	schemeSentinel    = "redis-sentinel://"
	schemeSentinelTLS = "rediss-sentinel://"
	schemeCluster     = "redis-cluster://"
)

// Parse reads a Redis URL:
//
//	redis://[[user]:pass@]host[:port][/db][?go-redis options]
//	rediss://... (the same, over TLS)
//	redis-sentinel://[[user]:pass@]host1[:port][,host2[:port]...]/mastername[/db][?sentinel_password=...&sentinel_username=...&dial_timeout=...&read_timeout=...&write_timeout=...]
//	rediss-sentinel://... (the same, over TLS to the sentinels and the servers; &tls_ca_file=ca.pem trusts that CA instead of the system's, &tls_server_name=... checks that name instead of each host's)
//
// In the Sentinel form the user and password are those of the primary and
// its replicas; the sentinels' own come from the query. A sentinel
// without a port is on 26379. Errors say which part is wrong.
func Parse(raw string) (*Options, error) {
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, schemeSentinel):
		return parseSentinel(raw[len(schemeSentinel):], false)
	case strings.HasPrefix(lower, schemeSentinelTLS):
		return parseSentinel(raw[len(schemeSentinelTLS):], true)
	case strings.HasPrefix(lower, schemeCluster):
		return nil, errors.New("redis-cluster:// is not supported: some of asynq's Lua scripts touch keys that a Redis Cluster cannot keep in one hash slot (CROSSSLOT); " +
			"for high availability use Redis Sentinel: redis-sentinel://host1:26379,host2:26379/mastername/0")
	case strings.HasPrefix(lower, "redis://"), strings.HasPrefix(lower, "rediss://"):
		return parseSingle(raw)
	}
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, errors.New("want a URL like redis://host:6379/0 or redis-sentinel://host1:26379,host2:26379/mastername/0")
	}
	return nil, fmt.Errorf("scheme %q: want redis, rediss, redis-sentinel or rediss-sentinel", scheme)
}

// parseSingle reads redis:// and rediss:// with go-redis's parser.
func parseSingle(raw string) (*Options, error) {
	// url.Parse's errors repeat the URL, password and all: say less.
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL like redis://host:6379/0")
	}
	if u.Hostname() == "" {
		return nil, errors.New("no host: want a URL like redis://host:6379/0")
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(o.Addr)
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return &Options{u: redis.UniversalOptions{
		Addrs:           []string{o.Addr},
		ClientName:      o.ClientName,
		DB:              o.DB,
		Protocol:        o.Protocol,
		Username:        o.Username,
		Password:        o.Password,
		MaxRetries:      o.MaxRetries,
		MinRetryBackoff: o.MinRetryBackoff,
		MaxRetryBackoff: o.MaxRetryBackoff,
		DialTimeout:     o.DialTimeout,
		ReadTimeout:     o.ReadTimeout,
		WriteTimeout:    o.WriteTimeout,
		PoolFIFO:        o.PoolFIFO,
		PoolSize:        o.PoolSize,
		PoolTimeout:     o.PoolTimeout,
		MinIdleConns:    o.MinIdleConns,
		MaxIdleConns:    o.MaxIdleConns,
		MaxActiveConns:  o.MaxActiveConns,
		ConnMaxIdleTime: o.ConnMaxIdleTime,
		ConnMaxLifetime: o.ConnMaxLifetime,
		TLSConfig:       o.TLSConfig,
	}}, nil
}

// parseSentinel reads what follows redis-sentinel:// (rediss-sentinel://
// when useTLS). The host list is not a URL authority (it has commas), so
// the parts are cut by hand.
func parseSentinel(rest string, useTLS bool) (*Options, error) {
	rest, query, _ := strings.Cut(rest, "?")
	authority, path, _ := strings.Cut(rest, "/")
	var o redis.UniversalOptions
	if userinfo, hosts, ok := cutLast(authority, "@"); ok {
		user, pass, _ := strings.Cut(userinfo, ":")
		var err error
		if o.Username, err = url.PathUnescape(user); err != nil {
			return nil, fmt.Errorf("user name: %w", err)
		}
		if o.Password, err = url.PathUnescape(pass); err != nil {
			return nil, fmt.Errorf("password: %w", err)
		}
		authority = hosts
	}
	addrs, err := sentinelAddrs(authority)
	if err != nil {
		return nil, err
	}
	o.Addrs = addrs
	if o.MasterName, o.DB, err = masterAndDB(path); err != nil {
		return nil, err
	}
	if useTLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if err := sentinelQuery(&o, query); err != nil {
		return nil, err
	}
	return &Options{u: o}, nil
}

// cutLast is strings.Cut at the last sep: a password may hold an "@".
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", s, false
	}
	return s[:i], s[i+len(sep):], true
}

// sentinelAddrs reads host1[:port],host2[:port]...
func sentinelAddrs(list string) ([]string, error) {
	if list == "" {
		return nil, errors.New("no sentinels: want redis-sentinel://host1:26379,host2:26379/mastername/0")
	}
	var addrs []string
	for _, hp := range strings.Split(list, ",") {
		host, port := hp, strconv.Itoa(DefaultSentinelPort)
		if h, p, err := net.SplitHostPort(hp); err == nil {
			host, port = h, p
		} else if strings.Contains(hp, ":") && !strings.HasPrefix(hp, "[") {
			return nil, fmt.Errorf("sentinel %q: want host:port", hp)
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if !validHost(host) {
			return nil, fmt.Errorf("sentinel %q: want host:port", hp)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("sentinel %q: port %q is not a number from 1 to 65535", hp, port)
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(n)))
	}
	return addrs, nil
}

// validHost accepts an IP address or a host name of letters, digits, dots,
// hyphens and underscores.
func validHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if host == "" {
		return false
	}
	for _, r := range host {
		if !hostChar(r) {
			return false
		}
	}
	return true
}

func hostChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_'
}

// masterAndDB reads mastername[/db].
func masterAndDB(path string) (string, int, error) {
	name, db, hasDB := strings.Cut(strings.TrimSuffix(path, "/"), "/")
	if name == "" {
		return "", 0, errors.New("no master name: want redis-sentinel://host1:26379,host2:26379/mastername/0")
	}
	if strings.ContainsAny(name, " \t\r\n") {
		return "", 0, fmt.Errorf("master name %q has a space", name)
	}
	if !hasDB {
		return name, 0, nil
	}
	n, err := strconv.Atoi(db)
	if err != nil || n < 0 {
		return "", 0, fmt.Errorf("database %q is not a number such as 0", db)
	}
	return name, n, nil
}

// sentinelQuery reads the query options of the Sentinel form. An option it
// does not know is an error: a misspelt one would otherwise be ignored.
func sentinelQuery(o *redis.UniversalOptions, query string) error {
	q, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	for key, vals := range q {
		v := vals[len(vals)-1]
		switch key {
		case "sentinel_username":
			o.SentinelUsername = v
		case "sentinel_password":
			o.SentinelPassword = v
		case "dial_timeout":
			o.DialTimeout, err = timeout(key, v)
		case "read_timeout":
			o.ReadTimeout, err = timeout(key, v)
		case "write_timeout":
			o.WriteTimeout, err = timeout(key, v)
		case "tls_ca_file", "tls_server_name":
			if o.TLSConfig == nil {
				return fmt.Errorf("query option %q: TLS needs rediss-sentinel://", key)
			}
			if key == "tls_server_name" {
				o.TLSConfig.ServerName = v
			} else {
				o.TLSConfig.RootCAs, err = readCAs(v)
			}
		default:
			return fmt.Errorf("query option %q: want sentinel_password, sentinel_username, dial_timeout, read_timeout, write_timeout, tls_ca_file or tls_server_name", key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readCAs reads the PEM certificates of file (its first megabyte: a CA
// bundle is a few hundred kilobytes) into a pool.
func readCAs(file string) (*x509.CertPool, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("tls_ca_file: %w", err)
	}
	defer f.Close()
	pem, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("tls_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls_ca_file %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// timeout reads a positive duration such as 500ms.
func timeout(key, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 500ms", key, v)
	}
	return d, nil
}

// Sentinel reports whether the primary is found through sentinels.
func (o *Options) Sentinel() bool { return o.u.MasterName != "" }

// Universal returns a copy of the options in go-redis's form for any kind
// of client, for a caller that tunes them (the rate limits' client):
// redis.NewUniversalClient makes a failover client of it for Sentinel and a
// plain one otherwise.
func (o *Options) Universal() *redis.UniversalOptions {
	u := o.u
	u.Addrs = append([]string(nil), o.u.Addrs...)
	if o.u.TLSConfig != nil {
		u.TLSConfig = o.u.TLSConfig.Clone()
	}
	return &u
}

// NewClient returns a go-redis client; with Sentinel it reaches the
// primary the sentinels name, and after a failover the new one.
func (o *Options) NewClient() redis.UniversalClient {
	return redis.NewUniversalClient(o.Universal())
}

// ConnOpt returns asynq's connection option: each asynq client, server,
// inspector and the queue UI make their client with NewClient.
func (o *Options) ConnOpt() asynq.RedisConnOpt { return connOpt{o} }

// String describes where Redis is, without passwords, for logs.
func (o *Options) String() string {
	if o.Sentinel() {
		return fmt.Sprintf("master %q of sentinels %s, db %d", o.u.MasterName, strings.Join(o.u.Addrs, ","), o.u.DB)
	}
	return fmt.Sprintf("%s, db %d", o.u.Addrs[0], o.u.DB)
}

// connOpt is asynq.RedisConnOpt over Options, so that asynq's clients are
// made exactly as ours are.
type connOpt struct{ o *Options }

// MakeRedisClient implements asynq.RedisConnOpt.
func (c connOpt) MakeRedisClient() any { return c.o.NewClient() }
