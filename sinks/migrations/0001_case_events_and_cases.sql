-- Every case event once per event id (ReplacingMergeTree; read with FINAL), and the latest state
-- of every case (highest version wins). Partitioned by month in Asia/Ho_Chi_Minh time.
-- Personal data is never stored here: payload carries no sealed identity, only the pseudonym.
CREATE TABLE IF NOT EXISTS {db}.case_events
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

CREATE TABLE IF NOT EXISTS {db}.cases
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
    sender_pseudonym String,
    confidential UInt8,
    submitted_at DateTime('Asia/Ho_Chi_Minh'),
    receive_due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    updated_at DateTime('Asia/Ho_Chi_Minh'),
    last_event_id UUID
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(submitted_at)
ORDER BY case_id;
