package nurture

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Regions are the regions an installation declares (NURTURE_REGIONS): each
// has its own relay and its own task queues, and a contact's email leaves
// only through its region's relay. The zero value is an installation
// without regions: every message's region is "" and its queues are the
// plain ones (critical, default, low).
type Regions struct {
	// Names are the declared regions, lower case, in the order declared.
	Names []string
	// Default is the region of a contact whose traits name none of Names;
	// one of Names.
	Default string
}

// Declared reports whether the installation has regions.
func (r Regions) Declared() bool { return len(r.Names) > 0 }

// Has reports whether name is a declared region.
func (r Regions) Has(name string) bool { return slices.Contains(r.Names, name) }

// Resolve returns the region of a contact whose region trait is trait and
// whose country trait is country: the declared region the trait names
// (case-insensitive, or one of its spellings in regionSpellings), else the
// first declared region of the country's row in CountryRegions, else the
// default. Without declared regions it returns "".
func (r Regions) Resolve(trait, country string) string {
	if !r.Declared() {
		return ""
	}
	key := strings.ToLower(strings.TrimSpace(trait))
	if r.Has(key) {
		return key
	}
	if name, ok := regionSpellings[key]; ok && r.Has(name) {
		return name
	}
	for _, name := range CountryRegions[strings.ToUpper(strings.TrimSpace(country))] {
		if r.Has(name) {
			return name
		}
	}
	return r.Default
}

// Fingerprint names what Resolve answers: the declared regions, the
// default, the spellings and the country table. Two installations (or two
// releases) with the same fingerprint resolve every contact alike, so the
// catch-up pass that re-resolves every contact runs once per fingerprint.
// Without declared regions it is "".
func (r Regions) Fingerprint() string {
	if !r.Declared() {
		return ""
	}
	h := sha256.New()
	names := slices.Sorted(slices.Values(r.Names)) // the order declared decides nothing
	fmt.Fprintf(h, "regions %q default %q\n", names, r.Default)
	for _, k := range slices.Sorted(maps.Keys(regionSpellings)) {
		fmt.Fprintf(h, "spelling %q %q\n", k, regionSpellings[k])
	}
	for _, k := range slices.Sorted(maps.Keys(CountryRegions)) {
		fmt.Fprintf(h, "country %q %q\n", k, CountryRegions[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Of is Resolve for contact c.
func (r Regions) Of(c *Contact) string { return r.Resolve(c.Region, c.Country) }

// Effective is the region whose relay sends a message stamped region: the
// stamp itself, or the default for a message stamped before the
// installation declared regions ("").
func (r Regions) Effective(region string) string {
	if region == "" {
		return r.Default
	}
	return region
}

// ParseRegionList reads a comma-separated list of region names (eu,us,in):
// each lower-case letters, digits and inner hyphens, at most 32
// characters, none twice. Spaces around the commas are ignored; an empty
// text is an empty list.
func ParseRegionList(text string) ([]string, error) {
	var out []string
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(text, ",") {
		name := strings.TrimSpace(part)
		if err := CheckRegionName(name); err != nil {
			return nil, err
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("region %q is named twice", name)
		}
		out = append(out, name)
	}
	return out, nil
}

// CheckRegionName says why name cannot be a region's name, or nil: lower
// case letters, digits and hyphens inside, 1 to 32 characters (it becomes
// part of queue names and of environment variable names).
func CheckRegionName(name string) error {
	if name == "" {
		return fmt.Errorf("an empty region name: want names such as eu,us,in")
	}
	if len(name) > 32 {
		return fmt.Errorf("region %q is longer than 32 characters", name)
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return fmt.Errorf("region %q: want lower-case letters, digits and inner hyphens, such as eu or us-east", name)
	}
	for _, r := range name {
		if !isRegionChar(r) {
			return fmt.Errorf("region %q: want lower-case letters, digits and inner hyphens, such as eu or us-east", name)
		}
	}
	return nil
}

// isRegionChar reports whether r may be in a region's name.
func isRegionChar(r rune) bool {
	return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-'
}

// RegionEnvSuffix is how region name appears in the names of its settings
// (NURTURE_SMTP_URL_<SUFFIX>): upper case, "-" as "_".
func RegionEnvSuffix(name string) string {
	return strings.ReplaceAll(strings.ToUpper(name), "-", "_")
}

// TaskQueue is the task queue of a message of queue class (critical,
// default, low) stamped with region: the class itself without a region,
// else region.class (eu.default).
func TaskQueue(region, class string) string {
	if class == "" {
		class = "default"
	}
	if region == "" {
		return class
	}
	return region + "." + class
}

// TaskQueue is the task queue m travels on: its class in its region.
func (m *Message) TaskQueue() string { return TaskQueue(m.Region, m.Queue) }

// Queued is a message just created, as its creator hands it to the task
// queue: its id and the region it was stamped with.
type Queued struct {
	ID     int64
	Region string
}

// QueuedByRegion groups ms by region, in the order the regions first
// appear, keeping each group's order.
func QueuedByRegion(ms []Queued) (regions []string, ids map[string][]int64) {
	ids = map[string][]int64{}
	for _, m := range ms {
		if _, ok := ids[m.Region]; !ok {
			regions = append(regions, m.Region)
		}
		ids[m.Region] = append(ids[m.Region], m.ID)
	}
	return regions, ids
}

// regionSpellings are the other names a region trait may give a region,
// lower case: a trait "Europe" is region eu when eu is declared. Kept
// small on purpose; anything else is read from the country.
var regionSpellings = map[string]string{
	"europe":         "eu",
	"european union": "eu",
	"emea":           "eu",
	"eea":            "eu",
	"united states":  "us",
	"usa":            "us",
	"north america":  "us",
	"america":        "us",
	"india":          "in",
	"united kingdom": "uk",
	"great britain":  "uk",
	"gb":             "uk",
	"canada":         "ca",
	"australia":      "au",
	"asia pacific":   "apac",
	"asia-pacific":   "apac",
	"japan":          "jp",
	"brazil":         "br",
	"latin america":  "latam",
	"south america":  "latam",
	"middle east":    "me",
	"singapore":      "sg",
	"new zealand":    "au",
	"switzerland":    "ch",
}

// CountryRegions maps an ISO 3166-1 alpha-2 country code to the regions
// that may serve it, the most specific first: the first one declared
// wins (GB goes to uk when uk is declared, else to eu). A country not in
// the table, or whose regions are none declared, goes to the default
// region. docs/scaling.md prints this table.
var CountryRegions = map[string][]string{}

func init() {
	eu := []string{"eu"}
	for _, cc := range []string{"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
		"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"} {
		CountryRegions[cc] = eu
	}
	CountryRegions["CH"] = []string{"ch", "eu"}
	CountryRegions["GB"] = []string{"uk", "eu"}
	CountryRegions["US"] = []string{"us"}
	CountryRegions["CA"] = []string{"ca", "us"}
	CountryRegions["MX"] = []string{"latam", "us"}
	CountryRegions["BR"] = []string{"br", "latam", "us"}
	CountryRegions["AR"] = []string{"latam", "us"}
	CountryRegions["CL"] = []string{"latam", "us"}
	CountryRegions["CO"] = []string{"latam", "us"}
	CountryRegions["IN"] = []string{"in", "apac"}
	CountryRegions["AU"] = []string{"au", "apac"}
	CountryRegions["NZ"] = []string{"au", "apac"}
	CountryRegions["JP"] = []string{"jp", "apac"}
	CountryRegions["SG"] = []string{"sg", "apac"}
	CountryRegions["AE"] = []string{"me", "eu"}
	CountryRegions["SA"] = []string{"me", "eu"}
}
