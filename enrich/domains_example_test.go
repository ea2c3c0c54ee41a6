package enrich_test

import (
	"fmt"

	"github.com/nurture-email/nurture/enrich"
)

func ExampleWorkDomain() {
	for _, email := range []string{"ada@mail.example.co.uk", "ada@gmail.com", "x@mailinator.com", "not an address"} {
		domain, reason := enrich.WorkDomain(email)
		fmt.Printf("%q %q\n", domain, reason)
	}
	fmt.Println(enrich.CountryOfTLD("example.co.uk"), enrich.CountryOfTLD("example.io") == "")
	// Output:
	// "example.co.uk" ""
	// "" "free_mail"
	// "" "disposable"
	// "" "unparsable"
	// GB true
}
