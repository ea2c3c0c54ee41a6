-- +goose Up
-- The console's contact search (issue 17, postgres/console_contacts.go):
-- a prefix of an address, of a name (first and last, or last alone) or of
-- a company, whatever its case, listed in the order of the matched value
-- and the id, a page at a time. Each index holds one of those lower-cased
-- values with the id, in byte order (text_pattern_ops), so that a prefix
-- is one range of it (~>=~ and ~<~, which a generic plan uses too, where
-- LIKE 'p%' needs the pattern at planning time) and a page is the next 50
-- entries of that range: no sort, whatever the number of contacts.
-- Contacts without a last name or a company take no room in those two.
--
-- None of them is partial on erased_at IS NULL, though the search leaves
-- erased contacts out (their rows go with the erasure anyway): every read
-- of contacts says erased_at IS NULL, and with such a predicate the
-- planner, whenever its statistics are stale (right after an import),
-- would read a whole search index to prove it, beside the primary key:
-- 7 ms for a batch of 100 contacts of 100,000, and a third of the send
-- path's throughput (docs/benchmarks.md, issue 17).
--
-- Not pg_trgm (a match anywhere in the text): an extension belongs to the
-- database, not to the schema, and a prefix is what a person types.
--
-- On an installation that already holds millions of contacts, build them
-- first without blocking ingestion (CREATE INDEX CONCURRENTLY IF NOT
-- EXISTS, the same statements), and this migration finds them there.
CREATE INDEX IF NOT EXISTS contacts_search_email_idx ON contacts (lower(email) text_pattern_ops, id);
CREATE INDEX IF NOT EXISTS contacts_search_name_idx ON contacts (lower(btrim(first_name || ' ' || last_name)) text_pattern_ops, id);
CREATE INDEX IF NOT EXISTS contacts_search_last_name_idx ON contacts (lower(last_name) text_pattern_ops, id)
    WHERE last_name <> '';
CREATE INDEX IF NOT EXISTS contacts_search_company_idx ON contacts (lower(company) text_pattern_ops, id)
    WHERE company <> '';

-- +goose Down
DROP INDEX IF EXISTS contacts_search_company_idx;
DROP INDEX IF EXISTS contacts_search_last_name_idx;
DROP INDEX IF EXISTS contacts_search_name_idx;
DROP INDEX IF EXISTS contacts_search_email_idx;
