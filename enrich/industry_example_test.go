package enrich_test

import (
	"fmt"

	"github.com/nurture-email/nurture/enrich"
)

func ExampleClassifyIndustry() {
	industry, confidence := enrich.ClassifyIndustry(
		"Müller Maschinenbau GmbH", // the page title
		"Hersteller von Sondermaschinen: Anlagenbau, Fertigung und Zerspanung.", // its description
	)
	fmt.Println(industry, confidence)
	industry, confidence = enrich.ClassifyIndustry("Welcome to our website")
	fmt.Printf("%q %v\n", industry, confidence)
	// Output:
	// Manufacturing 1
	// "" 0
}
