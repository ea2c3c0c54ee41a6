package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// MinSecretLength is the shortest NURTURE_SECRET accepted, even with --dev.
const MinSecretLength = 32

// minSecretBits is the entropy a secret must be able to hold outside --dev:
// its length times the bits of its alphabet.
const minSecretBits = 128

// secretAdvice ends every refusal of a secret.
const secretAdvice = "generate one with `nurture secret` or `openssl rand -hex 32`"

// NewSecret returns a new random secret: 32 random bytes, in hex, that
// CheckSecret accepts. (About one draw in five million has a run of eight
// equal hex digits, which the check refuses: that one is drawn again.)
func NewSecret() string {
	b := make([]byte, 32)
	for {
		_, _ = rand.Read(b) // never fails (crypto/rand)
		if s := hex.EncodeToString(b); CheckSecret(s) == nil {
			return s
		}
	}
}

// demoSecrets were published as examples: in docker-compose.yml, the README
// or the docs. They stay refused after they leave the files, since copies of
// them live on (TestPublishedSecretsAreRefused finds new ones).
var demoSecrets = []string{
	"demo-only-secret-do-not-use-in-production",
}

// placeholderWords give away a secret typed by a person rather than made
// by a generator. Each has six letters or more and letters outside a-f, so
// a random hex or base64 secret contains one by chance about once in ten
// million.
var placeholderWords = []string{
	"secret", "password", "passwd", "change", "example", "default", "sample", "placeholder",
	"insecure", "nurture", "production", "replace", "qwerty", "letmein",
}

// secretAlphabets are the character sets secrets are commonly drawn from,
// smallest first: a secret is taken to be drawn from the first that holds
// all of its characters.
var secretAlphabets = []struct {
	size  int
	chars string // "" for any byte
}{
	{10, "0123456789"},
	{16, "0123456789abcdef"},
	{16, "0123456789ABCDEF"},
	{17, "0123456789abcdef-"}, // UUIDs
	{17, "0123456789ABCDEF-"},
	{36, "0123456789abcdefghijklmnopqrstuvwxyz"},
	{36, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
	{62, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
	{67, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/-_="}, // base64, base64url
	{95, ""},  // printable ASCII, checked below
	{256, ""}, // anything
}

func alphabetOf(s string) int {
	for _, a := range secretAlphabets {
		if a.chars == "" {
			continue
		}
		if strings.Trim(s, a.chars) == "" {
			return a.size
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return 256
		}
	}
	return 95
}

// CheckSecret says why s may not sign recipient links outside --dev, or
// returns nil. It cannot measure randomness, only refuse what is plainly
// not random; it accepts the output of any common generator of 16 random
// bytes or more (`openssl rand -hex 16`, a UUID, `nurture secret`):
//
//   - shorter than MinSecretLength, or a published demo secret;
//   - under 128 bits even if its characters were random: its length times
//     the bits of the smallest common alphabet holding it (32 decimal
//     digits are 106 bits);
//   - a run of eight or more equal, ascending or descending characters
//     ("aaaaaaaa", "01234567");
//   - a common word ("secret", "change", ...);
//   - characters repeated like those of a phrase rather than a random
//     string: the Shannon entropy of its character counts is under 60% of
//     what the same length can show in that alphabet. Random strings stay
//     above 69% (a million of each common kind were measured), English
//     phrases fall near 55%, repeated patterns lower.
//
// The error never quotes the secret.
func CheckSecret(s string) error {
	if len(s) < MinSecretLength {
		return fmt.Errorf("is %d characters, needs at least %d; %s", len(s), MinSecretLength, secretAdvice)
	}
	for _, demo := range demoSecrets {
		if s == demo {
			return fmt.Errorf("is a demo secret published with Nurture: anyone could forge links signed with it; %s", secretAdvice)
		}
	}
	n, k := float64(len(s)), alphabetOf(s)
	if bits := n * math.Log2(float64(k)); bits < minSecretBits {
		return fmt.Errorf("holds at most %.0f bits (%d characters from an alphabet of %d), needs %d; %s", bits, len(s), k, minSecretBits, secretAdvice)
	}
	if hasRun(s, 8) {
		return fmt.Errorf("has a run of repeated or consecutive characters, which a random value would not; %s", secretAdvice)
	}
	lower := strings.ToLower(s)
	for _, w := range placeholderWords {
		if strings.Contains(lower, w) {
			return fmt.Errorf("contains a common word: it looks typed, not generated; %s", secretAdvice)
		}
	}
	if shannonBits(s) < 0.6*n*math.Log2(min(n, float64(k))) {
		return fmt.Errorf("repeats its characters like a phrase or a pattern, not like a random value; %s", secretAdvice)
	}
	return nil
}

// hasRun reports whether s has run or more bytes in a row that are equal,
// each one more than the one before, or each one less.
func hasRun(s string, run int) bool {
	for _, step := range []int{0, 1, -1} {
		length := 1
		for i := 1; i < len(s); i++ {
			if int(s[i])-int(s[i-1]) == step {
				length++
				if length >= run {
					return true
				}
			} else {
				length = 1
			}
		}
	}
	return false
}

// shannonBits is len(s) times the Shannon entropy of s's byte frequencies.
func shannonBits(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n, h := float64(len(s)), 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h * n
}

// maxSecretFile bounds what is read of a secret file.
const maxSecretFile = 4096

// readSecretFile reads the secret kept in path: the file's text without
// surrounding white space (an editor's final new line).
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxSecretFile {
		return "", fmt.Errorf("is larger than %d bytes: not a secret file", maxSecretFile)
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", errors.New("is empty")
	}
	return s, nil
}

// checkSecret settles the secret of a command that signs links: read from
// NURTURE_SECRET_FILE when that is set, made up with --dev when none is
// given, and checked. origins name where each value came from (a variable,
// a flag) for the errors.
func (c *Config) checkSecret(origins map[string]string) error {
	origin := origins["secret"]
	if c.SecretFile != "" {
		if c.Secret != "" {
			return fmt.Errorf("both %s and %s are set: give the secret one way", origins["secret"], origins["secret-file"])
		}
		s, err := readSecretFile(c.SecretFile)
		if err != nil {
			return fmt.Errorf("invalid %s: %s: %w", origins["secret-file"], c.SecretFile, err)
		}
		c.Secret, origin = s, "secret in "+origins["secret-file"]+" ("+c.SecretFile+")"
	}
	switch {
	case c.Secret == "" && c.Dev:
		c.Secret, c.SecretGenerated = NewSecret(), true
	case c.Secret == "":
		return fmt.Errorf("NURTURE_SECRET is required (or NURTURE_SECRET_FILE; --dev makes one up for the run): %s", secretAdvice)
	case len(c.Secret) < MinSecretLength:
		// Too short to sign with at all, even in development.
		return fmt.Errorf("invalid %s: is %d characters, needs at least %d", origin, len(c.Secret), MinSecretLength)
	case !c.Dev:
		if err := CheckSecret(c.Secret); err != nil {
			return fmt.Errorf("invalid %s: %w", origin, err)
		}
	}
	if c.SecretPrevious != "" {
		prev := origins["secret-previous"]
		if len(c.SecretPrevious) < MinSecretLength {
			return fmt.Errorf("invalid %s: is %d characters, needs at least %d", prev, len(c.SecretPrevious), MinSecretLength)
		}
		if !c.Dev {
			if err := CheckSecret(c.SecretPrevious); err != nil {
				return fmt.Errorf("invalid %s: %w", prev, err)
			}
		}
	}
	return nil
}

// checkErasureKey settles the erasure key as checkSecret does the secret:
// read from NURTURE_ERASURE_KEY_FILE when that is set, made up with --dev
// when none is given, refused when weak or when it is the secret itself
// (a key of its own: rotating the secret must not forget erased addresses).
func (c *Config) checkErasureKey(origins map[string]string) error {
	origin := origins["erasure-key"]
	if c.ErasureKeyFile != "" {
		if c.ErasureKey != "" {
			return fmt.Errorf("both %s and %s are set: give the erasure key one way", origins["erasure-key"], origins["erasure-key-file"])
		}
		s, err := readSecretFile(c.ErasureKeyFile)
		if err != nil {
			return fmt.Errorf("invalid %s: %s: %w", origins["erasure-key-file"], c.ErasureKeyFile, err)
		}
		c.ErasureKey, origin = s, "erasure key in "+origins["erasure-key-file"]+" ("+c.ErasureKeyFile+")"
	}
	switch {
	case c.ErasureKey == "" && c.Dev:
		c.ErasureKey, c.ErasureKeyGenerated = NewSecret(), true
	case c.ErasureKey == "":
		return fmt.Errorf("NURTURE_ERASURE_KEY is required (or NURTURE_ERASURE_KEY_FILE; --dev makes one up for the run): %s", secretAdvice)
	case len(c.ErasureKey) < MinSecretLength:
		return fmt.Errorf("invalid %s: is %d characters, needs at least %d", origin, len(c.ErasureKey), MinSecretLength)
	case c.ErasureKey == c.Secret:
		return fmt.Errorf("invalid %s: is NURTURE_SECRET: give erasure a key of its own", origin)
	case !c.Dev:
		if err := CheckSecret(c.ErasureKey); err != nil {
			return fmt.Errorf("invalid %s: %w", origin, err)
		}
	}
	return nil
}
