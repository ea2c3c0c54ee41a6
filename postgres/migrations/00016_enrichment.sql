-- +goose Up
-- Lead enrichment (issue 13). PostgreSQL knows which contacts await it:
-- a contact_enrichment row whose due_at has come. Redis only carries the
-- lead:enrich tasks the enrichment poller queues from these rows, so a
-- task lost with Redis's data is queued again.
ALTER TABLE contacts ADD COLUMN seniority text NOT NULL DEFAULT '';

-- What research found about a company, every finding with its source,
-- method and time (a JSON array). The typed columns take a researched
-- value only where no group call set them (trait_times has no key).
ALTER TABLE companies ADD COLUMN enriched jsonb NOT NULL DEFAULT '[]';
ALTER TABLE companies ADD COLUMN enriched_at timestamptz;

-- No foreign key to contacts: its check cost 15 µs for every row the
-- insert trigger below writes (a third of that trigger's time), for a row
-- only ever written for a contact the same statement wrote. The delete it
-- would cascade is a statement trigger's (contacts_deleted_enrichment).
CREATE TABLE contact_enrichment (
    contact_id   bigint PRIMARY KEY,
    -- revision counts the requests (a new contact, a new email domain or
    -- job title, a request by hand): a job records its work only if no
    -- request came while it ran.
    revision     bigint NOT NULL DEFAULT 1,
    due_at       timestamptz,  -- when the next research is due; NULL: none awaits
    queued_at    timestamptz,  -- when a task was last queued for it
    requested_at timestamptz NOT NULL DEFAULT now(),
    status       text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'ok', 'partial', 'unavailable', 'skipped')),
    reason       text NOT NULL DEFAULT '',
    domain       text NOT NULL DEFAULT '',
    fields       jsonb NOT NULL DEFAULT '[]', -- the contact's derived fields, with provenance
    enriched_at  timestamptz
);
CREATE INDEX contact_enrichment_due_idx ON contact_enrichment (due_at) WHERE due_at IS NOT NULL;

-- The per-domain cache: one research per domain within the TTL, however
-- many of its people sign up. claimed_until fences the research in flight.
CREATE TABLE domain_research (
    domain        text PRIMARY KEY,
    status        text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'ok', 'partial', 'unavailable', 'skipped')),
    reason        text NOT NULL DEFAULT '',
    fields        jsonb NOT NULL DEFAULT '[]', -- the derived company fields, with provenance
    sources       jsonb NOT NULL DEFAULT '[]', -- how each source went
    researched_at timestamptz,
    claimed_until timestamptz
);

-- New contacts with an address, and contacts whose address moved to
-- another domain or whose job title changed, await enrichment: written by
-- statement triggers, so every path that writes contacts (ingestion, the
-- admin API, corrections) requests it in its own transaction, at the cost
-- of one statement per statement.
-- The functions run with the search path they were created with (the
-- schema of these tables), so their statements are planned once per
-- session instead of at every call, as EXECUTE would.
-- +goose StatementBegin
CREATE FUNCTION contacts_enrich_inserted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO contact_enrichment AS e (contact_id, due_at)
    SELECT id, now() FROM fresh WHERE coalesce(email, '') <> '' AND erased_at IS NULL
    ON CONFLICT (contact_id) DO UPDATE SET revision = e.revision + 1, due_at = now(), queued_at = NULL, requested_at = now();
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER contacts_enrich_inserted AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION contacts_enrich_inserted();

-- +goose StatementBegin
CREATE FUNCTION contacts_enrich_updated() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO contact_enrichment AS e (contact_id, due_at)
    SELECT n.id, now() FROM fresh n JOIN stale o ON o.id = n.id
    WHERE coalesce(n.email, '') <> '' AND n.erased_at IS NULL
      AND (split_part(lower(n.email), '@', 2) IS DISTINCT FROM split_part(lower(coalesce(o.email, '')), '@', 2)
           OR n.title IS DISTINCT FROM o.title)
    ON CONFLICT (contact_id) DO UPDATE SET revision = e.revision + 1, due_at = now(), queued_at = NULL, requested_at = now();
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER contacts_enrich_updated AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS stale NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION contacts_enrich_updated();

-- +goose StatementBegin
CREATE FUNCTION contacts_deleted_enrichment() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM contact_enrichment WHERE contact_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER contacts_deleted_enrichment AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION contacts_deleted_enrichment();

-- The contacts stored before this migration are not queued: research
-- starts with new sign-ups (POST /v1/contacts/{id}/enrich asks for one).

-- +goose Down
DROP TRIGGER contacts_deleted_enrichment ON contacts;
DROP FUNCTION contacts_deleted_enrichment();
DROP TRIGGER contacts_enrich_updated ON contacts;
DROP FUNCTION contacts_enrich_updated();
DROP TRIGGER contacts_enrich_inserted ON contacts;
DROP FUNCTION contacts_enrich_inserted();
DROP TABLE domain_research;
DROP TABLE contact_enrichment;
ALTER TABLE companies DROP COLUMN enriched_at;
ALTER TABLE companies DROP COLUMN enriched;
ALTER TABLE contacts DROP COLUMN seniority;
