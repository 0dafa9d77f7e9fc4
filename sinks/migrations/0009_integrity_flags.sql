-- Integrity flags (docs/integrity.md §4): reused or blocklisted images, likely duplicates, edit
-- signals, each with its evidence; one row per flag event id (read with FINAL). The same events
-- are also in case_events (event_type 'integrity_flag'). No personal data: the related case is a
-- case id, the images are content hashes.
CREATE TABLE IF NOT EXISTS {db}.integrity_flags
(
    event_id UUID,
    case_id UUID,
    kind String,
    code String,
    related_case_id String,
    media_sha256 String,
    related_media_sha256 String,
    distance Nullable(Float64),
    detail String,
    unit_code String,
    raised_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(raised_at)
ORDER BY (case_id, event_id);
