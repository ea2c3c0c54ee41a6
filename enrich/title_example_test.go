package enrich_test

import (
	"fmt"

	"github.com/nurture-email/nurture/enrich"
)

func ExampleClassifyTitle() {
	for _, title := range []string{"Directrice commerciale", "Head of Growth", "Leiter Vertrieb", "Sr. Account Executive", "Co-founder & CEO"} {
		dept, level := enrich.ClassifyTitle(title)
		fmt.Printf("%s: %s, %s\n", title, dept, level)
	}
	// Output:
	// Directrice commerciale: Sales, Director
	// Head of Growth: Marketing, Director
	// Leiter Vertrieb: Sales, Director
	// Sr. Account Executive: Sales, Individual contributor
	// Co-founder & CEO: Executive, C-level
}
