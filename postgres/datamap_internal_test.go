package postgres

// DataMap gives the tests outside the package the map of personal data:
// each personal table with its export section, and the impersonal ones.
func DataMap() (personal map[string]string, impersonal map[string]string) {
	personal = map[string]string{}
	for _, t := range personalTables {
		personal[t.name] = t.section
	}
	return personal, impersonalTables
}

// RowsOf is the condition that picks a personal table's rows of a
// contact ($1 its id, $2 the SHA-256 of its addresses).
func RowsOf(table string) string {
	for _, t := range personalTables {
		if t.name == table {
			return t.rows
		}
	}
	return ""
}
