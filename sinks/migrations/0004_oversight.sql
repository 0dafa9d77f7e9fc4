-- Each unit's monthly figures (latest version wins) and the oversight flags (domain.md §6).
-- month is the case's submission month in Asia/Ho_Chi_Minh, 'YYYY-MM'.
CREATE TABLE IF NOT EXISTS {db}.unit_month_tallies
(
    unit_code String,
    month String,
    version UInt64,
    received UInt32,
    receive_late UInt32,
    assign_late UInt32,
    handle_on_time UInt32,
    handle_late UInt32,
    extended UInt32,
    rejected UInt32,
    satisfied UInt32,
    not_satisfied UInt32,
    repeats UInt32,
    repeats_not_satisfied UInt32,
    late_items UInt32,
    late_share Float64,
    flags Array(String),
    final UInt8,
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY month
ORDER BY (unit_code, month);

CREATE TABLE IF NOT EXISTS {db}.oversight_flags
(
    unit_code String,
    month String,
    flag String,
    value Float64,
    threshold Float64,
    raised_at DateTime('Asia/Ho_Chi_Minh'),
    event_id UUID
)
ENGINE = ReplacingMergeTree()
PARTITION BY month
ORDER BY (unit_code, month, flag);
