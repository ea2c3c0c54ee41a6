package nurture

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Segment is a saved audience: a named condition over contacts, asked of
// every contact at once when it is previewed or a campaign starts (the
// store compiles it to SQL). Filter is the condition as the client wrote
// it, the JSON map form of the condition language (ParseConditionValue);
// Condition is it parsed.
type Segment struct {
	ID          int64
	Name        string
	Description string
	Filter      any
	Condition   Condition
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Limits on a segment's name and description.
const (
	MaxSegmentName        = 100
	MaxSegmentDescription = 1000
)

// ParseSegmentFilter parses a segment's filter: the JSON map form of the
// condition language (and, or, not; traits.NAME and company.NAME
// comparisons; did; opened and clicked any email, or by topic, template,
// or a named sequence's step; subscribed), or its text form. A mistake is
// an *Error of code CodeUnprocessable whose field leads to it from
// "filter" (filter.and[2].traits.plan.gt). A step without its sequence is
// one too: a segment is asked outside any sequence.
func ParseSegmentFilter(v any) (Condition, error) {
	if v == nil {
		return nil, &Error{Code: CodeUnprocessable, Field: "filter", Message: "is required: a condition such as {\"traits.plan\": \"trial\"}"}
	}
	c, err := ParseConditionValue(v)
	if err != nil {
		var ce *ConditionError
		if errors.As(err, &ce) {
			field := "filter"
			if f := ce.Field(); f != "" {
				field += "." + f
			}
			if strings.HasPrefix(field, "filter.[") {
				field = "filter" + field[len("filter."):]
			}
			return nil, &Error{Code: CodeUnprocessable, Field: field, Message: ce.Message}
		}
		return nil, &Error{Code: CodeUnprocessable, Field: "filter", Message: err.Error()}
	}
	if e, ok := stepEngagement(c); ok {
		return nil, &Error{Code: CodeUnprocessable, Field: "filter",
			Message: fmt.Sprintf("%q names a step without its sequence: in a segment, write the sequence too ({\"step\": %q, \"sequence\": \"onboarding\"}), or name a topic, a template or any email", e.String(), e.Name)}
	}
	return c, nil
}

// stepEngagement finds an Engaged of scope step in c.
func stepEngagement(c Condition) (Engaged, bool) {
	switch c := c.(type) {
	case All:
		for _, x := range c {
			if e, ok := stepEngagement(x); ok {
				return e, true
			}
		}
	case Any:
		for _, x := range c {
			if e, ok := stepEngagement(x); ok {
				return e, true
			}
		}
	case Not:
		return stepEngagement(c.C)
	case Engaged:
		if c.Scope == EngagedStep && c.Sequence == "" {
			return c, true
		}
	}
	return Engaged{}, false
}
