package sequence

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nurture-email/nurture"
)

// countryZones is the main time zone of each country, by ISO 3166 alpha-2
// code: for a contact whose time zone we do not know but whose country we
// do. For a country that spans several zones it is the zone where most of
// its people live (the United States: New York; Canada: Toronto; Brazil:
// São Paulo; Australia: Sydney; Russia: Moscow; Mexico: Mexico City;
// Indonesia: Jakarta). The README lists the same table.
var countryZones = map[string]string{
	"AE": "Asia/Dubai", "AR": "America/Argentina/Buenos_Aires", "AT": "Europe/Vienna", "AU": "Australia/Sydney",
	"BD": "Asia/Dhaka", "BE": "Europe/Brussels", "BG": "Europe/Sofia", "BR": "America/Sao_Paulo",
	"CA": "America/Toronto", "CH": "Europe/Zurich", "CL": "America/Santiago", "CN": "Asia/Shanghai",
	"CO": "America/Bogota", "CZ": "Europe/Prague", "DE": "Europe/Berlin", "DK": "Europe/Copenhagen",
	"EE": "Europe/Tallinn", "EG": "Africa/Cairo", "ES": "Europe/Madrid", "FI": "Europe/Helsinki",
	"FR": "Europe/Paris", "GB": "Europe/London", "GR": "Europe/Athens", "HK": "Asia/Hong_Kong",
	"HR": "Europe/Zagreb", "HU": "Europe/Budapest", "ID": "Asia/Jakarta", "IE": "Europe/Dublin",
	"IL": "Asia/Jerusalem", "IN": "Asia/Kolkata", "IS": "Atlantic/Reykjavik", "IT": "Europe/Rome",
	"JP": "Asia/Tokyo", "KE": "Africa/Nairobi", "KR": "Asia/Seoul", "LT": "Europe/Vilnius",
	"LU": "Europe/Luxembourg", "LV": "Europe/Riga", "MA": "Africa/Casablanca", "MX": "America/Mexico_City",
	"MY": "Asia/Kuala_Lumpur", "NG": "Africa/Lagos", "NL": "Europe/Amsterdam", "NO": "Europe/Oslo",
	"NZ": "Pacific/Auckland", "PE": "America/Lima", "PH": "Asia/Manila", "PK": "Asia/Karachi",
	"PL": "Europe/Warsaw", "PT": "Europe/Lisbon", "RO": "Europe/Bucharest", "RS": "Europe/Belgrade",
	"RU": "Europe/Moscow", "SA": "Asia/Riyadh", "SE": "Europe/Stockholm", "SG": "Asia/Singapore",
	"SI": "Europe/Ljubljana", "SK": "Europe/Bratislava", "TH": "Asia/Bangkok", "TR": "Europe/Istanbul",
	"TW": "Asia/Taipei", "UA": "Europe/Kyiv", "US": "America/New_York", "VN": "Asia/Ho_Chi_Minh",
	"ZA": "Africa/Johannesburg",
}

// countryNames maps the English names products often send instead of the
// code, lower case, to the code.
var countryNames = map[string]string{
	"united states": "US", "united states of america": "US", "usa": "US", "united kingdom": "GB", "uk": "GB",
	"great britain": "GB", "england": "GB", "canada": "CA", "germany": "DE", "france": "FR", "spain": "ES",
	"italy": "IT", "netherlands": "NL", "the netherlands": "NL", "belgium": "BE", "switzerland": "CH",
	"austria": "AT", "sweden": "SE", "norway": "NO", "denmark": "DK", "finland": "FI", "ireland": "IE",
	"portugal": "PT", "poland": "PL", "australia": "AU", "new zealand": "NZ", "india": "IN", "japan": "JP",
	"china": "CN", "brazil": "BR", "mexico": "MX", "argentina": "AR", "singapore": "SG", "israel": "IL",
	"south africa": "ZA", "south korea": "KR", "korea": "KR", "russia": "RU", "ukraine": "UA", "turkey": "TR",
}

// CountryZone returns the main time zone of a country, given as its ISO
// 3166 alpha-2 code (any case) or its English name, or "" when the table
// does not know it.
func CountryZone(country string) string {
	c := strings.ToLower(strings.TrimSpace(country))
	if code, ok := countryNames[c]; ok {
		return countryZones[code]
	}
	return countryZones[strings.ToUpper(c)]
}

// CountryCodes returns the codes of the countries CountryZone knows,
// sorted.
func CountryCodes() []string {
	return slices.Sorted(maps.Keys(countryZones))
}

// ZoneCache loads time zones once: time.LoadLocation reads and parses a
// file on every call. The zero value is ready to use, and safe for
// concurrent use.
type ZoneCache struct {
	mu    sync.Mutex
	zones map[string]*time.Location
}

// Load returns the time zone called name.
func (c *ZoneCache) Load(name string) (*time.Location, error) {
	if c == nil {
		return time.LoadLocation(name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if loc, ok := c.zones[name]; ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	if c.zones == nil {
		c.zones = map[string]*time.Location{}
	}
	c.zones[name] = loc
	return loc, nil
}

// ContactZone returns the time zone to plan a contact's emails in: their
// timezone trait, else their country's main zone (CountryZone), else
// fallback (UTC when nil); and where it came from, for the reasons of a
// decision: "timezone trait", "country GB" or "default".
func ContactZone(c *nurture.Contact, fallback *time.Location, zones *ZoneCache) (*time.Location, string) {
	if c != nil {
		if tz := strings.TrimSpace(c.TimeZone); tz != "" && tz != "Local" {
			if loc, err := zones.Load(tz); err == nil {
				return loc, "timezone trait"
			}
		}
		if name := CountryZone(c.Country); name != "" {
			if loc, err := zones.Load(name); err == nil {
				return loc, "country " + strings.TrimSpace(c.Country)
			}
		}
	}
	if fallback == nil {
		fallback = time.UTC
	}
	return fallback, "default"
}
