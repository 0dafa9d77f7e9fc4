-- Dimensions for analysts and BI tools (docs/warehouse.md): the unit directory, the feedback
-- categories and the working-day calendar, loaded from the pipeline's own data files
-- (processors/data/*.json, processors/catalogue.py, processors/calendar.py) by `pakn migrate`,
-- `pakn warehouse dimensions` and `pakn units publish` (sinks/dimensions.py). Each load writes
-- every row again with a higher version; a unit or category gone from the data gets a row with
-- removed = 1 (like a tombstone on units.directory). ReplacingMergeTree(version): read the v_
-- views (FINAL, removed = 0). dim_units keeps every directory loaded (the shipped 2025 and
-- pre-2025 shapes, and the one in use): in_use = 1 marks the directory the pipeline routes by. No personal data: copied whole to the analysts' database.
CREATE TABLE IF NOT EXISTS {db}.dim_units
(
    directory String,
    code String,
    kind String,
    subtype String,
    name_vi String,
    name_en String,
    parent Nullable(String),
    area_code String,
    domains Array(String),
    valid_from Nullable(Date),
    valid_until Nullable(Date),
    in_use UInt8,
    removed UInt8,
    version UInt64,
    loaded_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (directory, code);

CREATE TABLE IF NOT EXISTS {db}.dim_categories
(
    code String,
    process String,
    name_vi String,
    name_en String,
    removed UInt8,
    version UInt64,
    loaded_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY code;

CREATE TABLE IF NOT EXISTS {db}.dim_calendar
(
    day Date,
    working UInt8,
    working_minutes UInt16,
    day_kind String,
    reason String,
    source String,
    confirmed UInt8,
    version UInt64,
    loaded_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYear(day)
ORDER BY day;

CREATE TABLE IF NOT EXISTS {db}_analytics.dim_units AS {db}.dim_units;

CREATE TABLE IF NOT EXISTS {db}_analytics.dim_categories AS {db}.dim_categories;

CREATE TABLE IF NOT EXISTS {db}_analytics.dim_calendar AS {db}.dim_calendar;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.dim_units_to_analytics
TO {db}_analytics.dim_units AS
SELECT * FROM {db}.dim_units;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.dim_categories_to_analytics
TO {db}_analytics.dim_categories AS
SELECT * FROM {db}.dim_categories;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.dim_calendar_to_analytics
TO {db}_analytics.dim_calendar AS
SELECT * FROM {db}.dim_calendar
