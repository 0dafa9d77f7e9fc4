-- Every re-identification and erasure of a sender's personal data (topic privacy.audit).
-- In the warehouse database only: the analysts' user reads {db}_analytics, never this table.
-- docs/privacy.md.
CREATE TABLE IF NOT EXISTS {db}.privacy_audit
(
    audit_id UUID,
    action String,
    at DateTime('Asia/Ho_Chi_Minh'),
    actor_subject String,
    actor_role String,
    case_id String,
    pseudonym String,
    justification String,
    outcome String,
    detail String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (at, audit_id);
