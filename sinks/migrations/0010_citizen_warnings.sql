-- Warnings to citizens (docs/warnings.md): every warning as it stands, the communes each version
-- touches and reaches, and one row per delivered notification (no pseudonym, no token: the
-- counts are what the warehouse needs). Public data: the analysts' database gets the same
-- tables through materialized views. Read with FINAL (ReplacingMergeTree).
CREATE TABLE IF NOT EXISTS {db}.warnings
(
    warning_id String,
    version UInt32,
    revision UInt64,
    status String,
    issuing_unit String,
    category String,
    severity String,
    urgency String,
    certainty String,
    headline_vi String,
    headline_en String,
    effective DateTime('Asia/Ho_Chi_Minh'),
    expires DateTime('Asia/Ho_Chi_Minh'),
    communes Array(String),
    audience Array(String),
    circles UInt16,
    polygons UInt16,
    superseded_by String,
    created_at DateTime('Asia/Ho_Chi_Minh'),
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(revision)
ORDER BY warning_id;

CREATE TABLE IF NOT EXISTS {db}.warning_areas
(
    warning_id String,
    version UInt32,
    commune String,
    in_area UInt8,
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree()
ORDER BY (warning_id, version, commune);

CREATE TABLE IF NOT EXISTS {db}.warning_deliveries
(
    event_id UUID,
    warning_id String,
    version UInt32,
    kind String,
    channel String,
    language String,
    category String,
    severity String,
    delivered_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(delivered_at)
ORDER BY (warning_id, version, event_id);

CREATE TABLE IF NOT EXISTS {db}_analytics.warnings AS {db}.warnings
ENGINE = ReplacingMergeTree(revision)
ORDER BY warning_id;

CREATE TABLE IF NOT EXISTS {db}_analytics.warning_areas AS {db}.warning_areas
ENGINE = ReplacingMergeTree()
ORDER BY (warning_id, version, commune);

CREATE TABLE IF NOT EXISTS {db}_analytics.warning_deliveries AS {db}.warning_deliveries
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(delivered_at)
ORDER BY (warning_id, version, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.warnings_to_analytics
TO {db}_analytics.warnings AS
SELECT * FROM {db}.warnings;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.warning_areas_to_analytics
TO {db}_analytics.warning_areas AS
SELECT * FROM {db}.warning_areas;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.warning_deliveries_to_analytics
TO {db}_analytics.warning_deliveries AS
SELECT * FROM {db}.warning_deliveries;
