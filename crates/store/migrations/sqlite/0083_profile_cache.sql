-- What a seat recently read of a profile (a profile, or an email lookup), so the same profile is
-- not fetched again from LinkedIn within days: every fetch costs the seat part of its daily
-- budget of profile retrievals. Rows past their expiry are deleted as the seat reads more.
CREATE TABLE profile_cache (
    linkedin_account_id      TEXT NOT NULL,
    kind                     TEXT NOT NULL,
    identifier               TEXT NOT NULL,
    body                     TEXT NOT NULL,
    fetched_at               INTEGER NOT NULL,
    PRIMARY KEY (linkedin_account_id, kind, identifier)
);
