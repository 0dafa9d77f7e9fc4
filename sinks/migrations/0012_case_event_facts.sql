-- Typed facts (docs/warehouse.md): the fields of case_events.payload that analysts filter on, as
-- real columns, one row per event id (ReplacingMergeTree: read v_event_facts, or FINAL). Every
-- column but the envelope's is Nullable: an event that has no such field stores NULL, so a new
-- event type (an alert withdrawal, a clock pause...) fills the columns it shares by name and a
-- later migration adds Nullable columns for fields of its own. Filled by the sink from the same
-- record as case_events (sinks/rows.py case_event_fact_row); the events stored before this
-- migration are copied from their JSON below. No pseudonym is among the columns: copied whole
-- to the analysts' database.
CREATE TABLE IF NOT EXISTS {db}.case_event_facts
(
    event_id UUID,
    case_id UUID,
    event_type String,
    occurred_at DateTime('Asia/Ho_Chi_Minh'),
    unit_code Nullable(String),
    stage Nullable(String),
    level Nullable(String),
    due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    on_time Nullable(UInt8),
    late_working_minutes Nullable(UInt32),
    used_working_minutes Nullable(UInt32),
    working_minutes Nullable(UInt32),
    command Nullable(String),
    from_status Nullable(String),
    to_status Nullable(String),
    reason Nullable(String),
    target_unit Nullable(String),
    rating Nullable(String),
    repeat_count Nullable(UInt16),
    process Nullable(String),
    category Nullable(String),
    commune_code Nullable(String),
    channel Nullable(String),
    ingested_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (case_id, event_id);

CREATE TABLE IF NOT EXISTS {db}_analytics.case_event_facts AS {db}.case_event_facts;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.case_event_facts_to_analytics
TO {db}_analytics.case_event_facts AS
SELECT * FROM {db}.case_event_facts;

-- The events already stored: the same fields from the JSON (a key with a JSON null is NULL).
INSERT INTO {db}.case_event_facts
SELECT
    event_id,
    case_id,
    event_type,
    occurred_at,
    if(visitParamHas(payload, 'unit_code') AND visitParamExtractRaw(payload, 'unit_code') != 'null',
       CAST(visitParamExtractString(payload, 'unit_code') AS Nullable(String)), NULL) AS unit_code,
    if(visitParamHas(payload, 'stage') AND visitParamExtractRaw(payload, 'stage') != 'null',
       CAST(visitParamExtractString(payload, 'stage') AS Nullable(String)), NULL) AS stage,
    if(visitParamHas(payload, 'level') AND visitParamExtractRaw(payload, 'level') != 'null',
       CAST(visitParamExtractString(payload, 'level') AS Nullable(String)), NULL) AS level,
    if(visitParamHas(payload, 'due_at') AND visitParamExtractRaw(payload, 'due_at') != 'null',
       CAST(parseDateTimeBestEffortOrNull(visitParamExtractString(payload, 'due_at'), 'Asia/Ho_Chi_Minh') AS Nullable(DateTime('Asia/Ho_Chi_Minh'))), NULL) AS due_at,
    if(visitParamHas(payload, 'on_time') AND visitParamExtractRaw(payload, 'on_time') != 'null',
       CAST(toUInt8(visitParamExtractBool(payload, 'on_time')) AS Nullable(UInt8)), NULL) AS on_time,
    if(visitParamHas(payload, 'late_working_minutes') AND visitParamExtractRaw(payload, 'late_working_minutes') != 'null',
       CAST(toUInt32(visitParamExtractUInt(payload, 'late_working_minutes')) AS Nullable(UInt32)), NULL) AS late_working_minutes,
    if(visitParamHas(payload, 'used_working_minutes') AND visitParamExtractRaw(payload, 'used_working_minutes') != 'null',
       CAST(toUInt32(visitParamExtractUInt(payload, 'used_working_minutes')) AS Nullable(UInt32)), NULL) AS used_working_minutes,
    if(visitParamHas(payload, 'working_minutes') AND visitParamExtractRaw(payload, 'working_minutes') != 'null',
       CAST(toUInt32(visitParamExtractUInt(payload, 'working_minutes')) AS Nullable(UInt32)), NULL) AS working_minutes,
    if(visitParamHas(payload, 'command') AND visitParamExtractRaw(payload, 'command') != 'null',
       CAST(visitParamExtractString(payload, 'command') AS Nullable(String)), NULL) AS command,
    if(visitParamHas(payload, 'from_status') AND visitParamExtractRaw(payload, 'from_status') != 'null',
       CAST(visitParamExtractString(payload, 'from_status') AS Nullable(String)), NULL) AS from_status,
    if(visitParamHas(payload, 'to_status') AND visitParamExtractRaw(payload, 'to_status') != 'null',
       CAST(visitParamExtractString(payload, 'to_status') AS Nullable(String)), NULL) AS to_status,
    if(visitParamHas(payload, 'reason') AND visitParamExtractRaw(payload, 'reason') != 'null',
       CAST(visitParamExtractString(payload, 'reason') AS Nullable(String)), NULL) AS reason,
    if(visitParamHas(payload, 'target_unit') AND visitParamExtractRaw(payload, 'target_unit') != 'null',
       CAST(visitParamExtractString(payload, 'target_unit') AS Nullable(String)), NULL) AS target_unit,
    if(visitParamHas(payload, 'rating') AND visitParamExtractRaw(payload, 'rating') != 'null',
       CAST(visitParamExtractString(payload, 'rating') AS Nullable(String)), NULL) AS rating,
    if(visitParamHas(payload, 'repeat') AND visitParamExtractRaw(payload, 'repeat') != 'null',
       CAST(toUInt16(visitParamExtractUInt(payload, 'repeat')) AS Nullable(UInt16)), NULL) AS repeat_count,
    if(visitParamHas(payload, 'process') AND visitParamExtractRaw(payload, 'process') != 'null',
       CAST(visitParamExtractString(payload, 'process') AS Nullable(String)), NULL) AS process,
    if(visitParamHas(payload, 'category') AND visitParamExtractRaw(payload, 'category') != 'null',
       CAST(visitParamExtractString(payload, 'category') AS Nullable(String)), NULL) AS category,
    if(visitParamHas(payload, 'commune_code') AND visitParamExtractRaw(payload, 'commune_code') != 'null',
       CAST(visitParamExtractString(payload, 'commune_code') AS Nullable(String)), NULL) AS commune_code,
    if(visitParamHas(payload, 'channel') AND visitParamExtractRaw(payload, 'channel') != 'null',
       CAST(visitParamExtractString(payload, 'channel') AS Nullable(String)), NULL) AS channel,
    ingested_at
FROM {db}.case_events
