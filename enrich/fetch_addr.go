package enrich

import (
	"errors"
	"fmt"
	"net/netip"

	"code.dny.dev/ssrf"
)

// ErrRefused is wrapped by every refusal of the fetcher's safety rules: a
// forbidden address, port or scheme. A refused request never reached the
// network.
var ErrRefused = errors.New("refused")

var (
	loopback4 = netip.MustParsePrefix("127.0.0.0/8")
	// NAT64 prefixes embed an IPv4 address in an IPv6 one (RFC 6052 and
	// RFC 8215): 64:ff9b::7f00:1 is 127.0.0.1 behind a NAT64 gateway. We
	// are never IPv6-only, so they are refused outright.
	nat64Prefixes = []netip.Prefix{
		netip.MustParsePrefix("64:ff9b::/96"),
		netip.MustParsePrefix("64:ff9b:1::/48"),
	}
	// Cloud metadata endpoints. Most sit in ranges ssrf already denies
	// (169.254.169.254 link-local for AWS, GCP, Azure, DigitalOcean;
	// fd00:ec2::254 unique-local for AWS; 100.100.100.200 CGNAT for
	// Alibaba; 192.0.0.192 IETF for Oracle); Azure's WireServer,
	// 168.63.129.16, is a public address and must be named.
	metadataV4 = []netip.Prefix{
		netip.MustParsePrefix("169.254.169.254/32"),
		netip.MustParsePrefix("168.63.129.16/32"),
		netip.MustParsePrefix("100.100.100.200/32"),
		netip.MustParsePrefix("192.0.0.192/32"),
	}
	metadataV6 = []netip.Prefix{
		netip.MustParsePrefix("fd00:ec2::254/128"),
	}

	// strictGuard is production's rule: ports 80 and 443, public
	// addresses only.
	strictGuard = ssrf.New(
		ssrf.WithDeniedV4Prefixes(metadataV4...),
		ssrf.WithDeniedV6Prefixes(metadataV6...),
	)
)

// guardFor returns the ssrf rule of a fetcher: production's, or with the
// admitted loopback prefix and any port (tests).
func guardFor(allow netip.Prefix) *ssrf.Guardian {
	if !allow.IsValid() {
		return strictGuard
	}
	return ssrf.New(
		ssrf.WithAllowedV4Prefixes(allow),
		ssrf.WithDeniedV4Prefixes(metadataV4...),
		ssrf.WithDeniedV6Prefixes(metadataV6...),
		ssrf.WithAnyPort(),
	)
}

// validLoopback reports whether p may be admitted: the zero prefix
// (nothing admitted) or a prefix inside 127.0.0.0/8.
func validLoopback(p netip.Prefix) bool {
	return !p.IsValid() || p.Addr().Is4() && p.Bits() >= 8 && loopback4.Contains(p.Addr())
}

// CheckAddr reports whether the fetcher may connect to a: nil, or an error
// wrapping ErrRefused that says why. It is the whole address rule, a pure
// function run on every address a name resolves to, before any dial (the
// dialer's Control runs code.dny.dev/ssrf again on the socket's address).
//
// Refused: loopback, private (RFC 1918, unique-local), link-local, CGNAT
// (100.64.0.0/10), multicast, unspecified, documentation, benchmarking and
// reserved ranges, anything outside IPv6 global unicast, IPv4-mapped IPv6
// forms of those (checked as the IPv4 address they carry), NAT64 forms,
// and cloud metadata addresses. allow (tests and benchmarks only; the zero
// Prefix in production) admits a part of 127.0.0.0/8, and nothing else.
func CheckAddr(a netip.Addr, allow netip.Prefix) error {
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrRefused)
	}
	a = a.WithZone("")
	for _, p := range nat64Prefixes {
		if p.Contains(a) {
			return fmt.Errorf("%w: %s is a NAT64 address", ErrRefused, a)
		}
	}
	// ::ffff:127.0.0.1 is 127.0.0.1 to the kernel: judge what it carries.
	a = a.Unmap()
	if !validLoopback(allow) {
		return fmt.Errorf("%w: %s is not a loopback prefix to admit", ErrRefused, allow)
	}
	if err := guardFor(allow).SafeAddr(a); err != nil {
		return fmt.Errorf("%w: %s", ErrRefused, err.Error())
	}
	return nil
}

// checkPort applies the port rule: 80 and 443 only, unless loopback is
// admitted (tests, whose servers listen on random ports).
func checkPort(port uint16, allow netip.Prefix) error {
	if allow.IsValid() || port == 80 || port == 443 {
		return nil
	}
	return fmt.Errorf("%w: port %d (only 80 and 443)", ErrRefused, port)
}
