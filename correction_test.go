package nurture

import (
	"testing"
	"time"
)

// A correction sets what it names and marks it as told; an identify call
// (Merge) and the device's context then leave it alone, however new.
func TestCorrectionStandsAgainstTheProduct(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		fix   Correction
		later Contact // what the product says afterwards
		want  func(c *Contact) bool
	}{
		{"a field", Correction{Fields: map[string]string{"first_name": "Ada"}}, Contact{FirstName: "Ade"},
			func(c *Contact) bool { return c.FirstName == "Ada" }},
		{"a field removed", Correction{Fields: map[string]string{"phone": ""}}, Contact{Phone: "+1"},
			func(c *Contact) bool { return c.Phone == "" }},
		{"the address", Correction{Fields: map[string]string{"email": "ada@new.example"}}, Contact{Email: "ada@old.example"},
			func(c *Contact) bool { return c.Email == "ada@new.example" }},
		{"an attribute", Correction{Attributes: map[string]any{"plan": "pro"}}, Contact{Attributes: map[string]any{"plan": "free"}},
			func(c *Contact) bool { return c.Attributes["plan"] == "pro" }},
		{"an attribute removed", Correction{Attributes: map[string]any{"nick": nil}}, Contact{Attributes: map[string]any{"nick": "al"}},
			func(c *Contact) bool { _, ok := c.Attributes["nick"]; return !ok }},
		{"another field follows the product", Correction{Fields: map[string]string{"first_name": "Ada"}}, Contact{LastName: "King"},
			func(c *Contact) bool { return c.LastName == "King" }},
	} {
		c := &Contact{Email: "ada@old.example", FirstName: "Ade", Phone: "+1", Attributes: map[string]any{"plan": "free", "nick": "al"}}
		changed, _, err := c.Correct(&tc.fix, t0)
		if err != nil || !changed {
			t.Fatalf("%s: changed %v, err %v", tc.name, changed, err)
		}
		c.Merge(&tc.later, t0.Add(time.Hour))
		if !tc.want(c) {
			t.Errorf("%s: after a later identify call: %+v", tc.name, c)
		}
	}
}

// A correction past the attribute limit changes nothing.
func TestCorrectionKeepsTheAttributeLimit(t *testing.T) {
	c := &Contact{Attributes: map[string]any{}}
	for i := range MaxAttributes {
		c.Attributes[string(rune('a'+i%26))+time.Duration(i).String()] = i
	}
	_, _, err := c.Correct(&Correction{Attributes: map[string]any{"one more": 1}, Fields: map[string]string{"first_name": "X"}}, time.Unix(0, 0))
	if FieldOf(err) != "attributes" {
		t.Fatalf("err %v, want one about attributes", err)
	}
	if c.FirstName != "" || c.Told != nil {
		t.Fatalf("changed on refusal: %+v", c)
	}
}
