-- The analysts' database, {db}_analytics: the warehouse without its person-linked data.
-- ClickHouse 18.16 has no grants and no column rights: a user is limited to databases
-- (allow_databases in users.xml), and a view does not help because 18.16 checks the reader's
-- access to the view's underlying tables too. So the public columns are materialised: every
-- insert into {db}.cases / {db}.case_events is copied by a materialized view into a table of the
-- same shape here, minus sender_pseudonym, and with every "...pseudonym" value of the payload JSON
-- set to null. Same engines and keys as the originals: read with FINAL. docs/warehouse.md.
CREATE DATABASE IF NOT EXISTS {db}_analytics;

CREATE TABLE IF NOT EXISTS {db}_analytics.cases
(
    case_id UUID,
    version UInt32,
    status String,
    process String,
    category String,
    unit_code String,
    commune_code String,
    lat Nullable(Float64),
    lon Nullable(Float64),
    title String,
    confidential UInt8,
    submitted_at DateTime('Asia/Ho_Chi_Minh'),
    receive_due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    updated_at DateTime('Asia/Ho_Chi_Minh'),
    last_event_id UUID,
    level String,
    assign_due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    handle_due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    late_stages Array(String),
    repeat_count UInt16,
    rating String,
    published_at Nullable(DateTime('Asia/Ho_Chi_Minh'))
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(submitted_at)
ORDER BY case_id;

CREATE TABLE IF NOT EXISTS {db}_analytics.case_events
(
    event_id UUID,
    case_id UUID,
    event_type String,
    occurred_at DateTime('Asia/Ho_Chi_Minh'),
    producer String,
    schema_version UInt16,
    payload String,
    source_topic String,
    source_partition UInt16,
    source_offset UInt64,
    ingested_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (case_id, event_id);

-- The copies: a materialized view only sees new inserts, so the views come first and the rows
-- already there are copied after them (a row inserted in between is copied twice: FINAL dedups).
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.cases_to_analytics TO {db}_analytics.cases AS
SELECT case_id, version, status, process, category, unit_code, commune_code, lat, lon, title,
       confidential, submitted_at, receive_due_at, updated_at, last_event_id, level,
       assign_due_at, handle_due_at, late_stages, repeat_count, rating, published_at
FROM {db}.cases;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.case_events_to_analytics
TO {db}_analytics.case_events AS
SELECT event_id, case_id, event_type, occurred_at, producer, schema_version,
       replaceRegexpAll(payload, '"([a-z_]*pseudonym)":"[^"]*"', '"\\1":null') AS payload,
       source_topic, source_partition, source_offset, ingested_at
FROM {db}.case_events;

INSERT INTO {db}_analytics.cases
SELECT case_id, version, status, process, category, unit_code, commune_code, lat, lon, title,
       confidential, submitted_at, receive_due_at, updated_at, last_event_id, level,
       assign_due_at, handle_due_at, late_stages, repeat_count, rating, published_at
FROM {db}.cases;

INSERT INTO {db}_analytics.case_events
SELECT event_id, case_id, event_type, occurred_at, producer, schema_version,
       replaceRegexpAll(payload, '"([a-z_]*pseudonym)":"[^"]*"', '"\\1":null') AS payload,
       source_topic, source_partition, source_offset, ingested_at
FROM {db}.case_events;

-- The oversight figures (0004) carry no personal data: copied whole, same shape and engine.
CREATE TABLE IF NOT EXISTS {db}_analytics.unit_month_tallies AS {db}.unit_month_tallies;

CREATE TABLE IF NOT EXISTS {db}_analytics.oversight_flags AS {db}.oversight_flags;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.unit_month_tallies_to_analytics
TO {db}_analytics.unit_month_tallies AS
SELECT * FROM {db}.unit_month_tallies;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.oversight_flags_to_analytics
TO {db}_analytics.oversight_flags AS
SELECT * FROM {db}.oversight_flags;

INSERT INTO {db}_analytics.unit_month_tallies SELECT * FROM {db}.unit_month_tallies;

INSERT INTO {db}_analytics.oversight_flags SELECT * FROM {db}.oversight_flags;
