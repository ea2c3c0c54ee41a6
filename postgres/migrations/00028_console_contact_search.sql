-- +goose Up
-- The console's contact search (issue 17, postgres/console_contacts.go):
-- a prefix of an address, of a name (first and last, or last alone) or of
-- a company, whatever its case, listed in the order of the matched value
-- and the id, a page at a time. Each index holds one of those lower-cased
-- values with the id, in byte order (text_pattern_ops), so that a prefix
-- is one range of it (~>=~ and ~<~, which a generic plan uses too, where
-- LIKE 'p%' needs the pattern at planning time) and a page is the next 50
-- entries of that range: no sort, whatever the number of contacts. They
-- are partial: erased contacts are never found, and contacts without a
-- last name or a company take no room in those two.
--
-- Not pg_trgm (a match anywhere in the text): an extension belongs to the
-- database, not to the schema, and a prefix is what a person types.
--
-- On an installation that already holds millions of contacts, build them
-- first without blocking ingestion (CREATE INDEX CONCURRENTLY IF NOT
-- EXISTS, the same statements), and this migration finds them there.
CREATE INDEX IF NOT EXISTS contacts_search_email_idx ON contacts (lower(email) text_pattern_ops, id)
    WHERE erased_at IS NULL;
CREATE INDEX IF NOT EXISTS contacts_search_name_idx ON contacts (lower(btrim(first_name || ' ' || last_name)) text_pattern_ops, id)
    WHERE erased_at IS NULL;
CREATE INDEX IF NOT EXISTS contacts_search_last_name_idx ON contacts (lower(last_name) text_pattern_ops, id)
    WHERE erased_at IS NULL AND last_name <> '';
CREATE INDEX IF NOT EXISTS contacts_search_company_idx ON contacts (lower(company) text_pattern_ops, id)
    WHERE erased_at IS NULL AND company <> '';

-- +goose Down
DROP INDEX IF EXISTS contacts_search_company_idx;
DROP INDEX IF EXISTS contacts_search_last_name_idx;
DROP INDEX IF EXISTS contacts_search_name_idx;
DROP INDEX IF EXISTS contacts_search_email_idx;
