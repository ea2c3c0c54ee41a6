// Package enrich researches a sign-up's company from public sources and
// derives fields from what it finds. This file is a placeholder package
// comment for the classifiers (industry, department and seniority, team
// size, free-mail and disposable domains, country of an address or a
// ccTLD; see docs/classifiers.md): pure Go,
// no network, importing only the domain and third-party libraries. The
// package comment proper lives in doc.go.
package enrich
