-- Templates (spec 2.7): value propositions, writing styles, signal specifications.
-- List-valued fields are JSON arrays in text columns; booleans are 0/1 integers.
-- References between templates are foreign keys on (group_id, id), so a template
-- can only point at templates of its own account group, and a value proposition
-- still in use cannot be deleted.

CREATE TABLE value_propositions (
    id              TEXT PRIMARY KEY,
    group_id        TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    description     TEXT,
    value_items     TEXT NOT NULL,
    challenge_items TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (group_id, id)
);
CREATE INDEX value_propositions_group_created ON value_propositions (group_id, created_at, id);

CREATE TABLE writing_styles (
    id                    TEXT PRIMARY KEY,
    group_id              TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    description           TEXT,
    content_type          TEXT NOT NULL,
    samples               TEXT NOT NULL,
    include_rules         TEXT NOT NULL,
    exclude_rules         TEXT NOT NULL,
    use_strict_template   INTEGER NOT NULL,
    value_proposition_id  TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    UNIQUE (group_id, id),
    FOREIGN KEY (group_id, value_proposition_id) REFERENCES value_propositions (group_id, id)
);
CREATE INDEX writing_styles_group_created ON writing_styles (group_id, created_at, id);
CREATE INDEX writing_styles_value_proposition ON writing_styles (group_id, value_proposition_id);

CREATE TABLE signal_specifications (
    id                     TEXT PRIMARY KEY,
    group_id               TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    description            TEXT,
    sources                TEXT NOT NULL,
    specifications         TEXT NOT NULL,
    use_value_proposition  INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    UNIQUE (group_id, id)
);
CREATE INDEX signal_specifications_group_created ON signal_specifications (group_id, created_at, id);

-- valuePropositionIds of a signal specification, in the order given.
CREATE TABLE signal_specification_value_propositions (
    group_id              TEXT NOT NULL,
    specification_id      TEXT NOT NULL,
    value_proposition_id  TEXT NOT NULL,
    position              INTEGER NOT NULL,
    PRIMARY KEY (specification_id, value_proposition_id),
    FOREIGN KEY (group_id, specification_id) REFERENCES signal_specifications (group_id, id) ON DELETE CASCADE,
    FOREIGN KEY (group_id, value_proposition_id) REFERENCES value_propositions (group_id, id)
);
CREATE INDEX signal_specification_value_propositions_vp
    ON signal_specification_value_propositions (group_id, value_proposition_id);
