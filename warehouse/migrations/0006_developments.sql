-- Developments: typed events read from sentences of articles (see warehouse/README.md).

CREATE TABLE developments (
    development_id  VARCHAR PRIMARY KEY,  -- sha256 of article, kind, stance and sentence offset
    article_id      VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,      -- taxonomy label (src/newsmon/taxonomy.yaml)
    plover_category VARCHAR,               -- CONSULT, AGREE, REJECT, REQUEST, RETREAT, SANCTION, ...
    plover_mode     VARCHAR,
    stance          VARCHAR NOT NULL,      -- proposed | agreed | rejected | occurred | called_for | denied
    actor_ids       VARCHAR[],
    recipient_ids   VARCHAR[],
    quantity        DOUBLE,
    unit            VARCHAR,
    place           VARCHAR,
    occurred_on     DATE,
    sentence        VARCHAR NOT NULL,
    start_offset    INTEGER,               -- in headline + "\n" + text
    end_offset      INTEGER,
    confidence      DOUBLE,
    trigger         VARCHAR
);
