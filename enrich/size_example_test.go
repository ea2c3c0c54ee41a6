package enrich_test

import (
	"fmt"

	"github.com/nurture-email/nurture/enrich"
)

func ExampleParseTeamSize() {
	for _, text := range []string{"51-200", "about 1,200 employees", "plus de 500 salariés", "Founded in 1998"} {
		fmt.Printf("%q\n", enrich.ParseTeamSize(text))
	}
	// Output:
	// "51-200"
	// "1001-5000"
	// "501-1000"
	// ""
}
