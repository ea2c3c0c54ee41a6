package nurture

// Product is the product an installation sends email for, as its
// configuration describes it: the sender its emails speak for. It is a
// domain value rather than the templates' own, because more than the
// templates need it: the send path names it in the List-Id header, the
// preference page shows its name, and previews render with it.
type Product struct {
	Name    string
	URL     string // where the product's calls to action lead
	Address string // the sender's postal address, on one line, for the footer
	// AssetsURL is the base URL of the images templates show, such as
	// https://cdn.example.com/email/ (see the templates' asset function).
	// Without it, templates leave their images out.
	AssetsURL string
}
