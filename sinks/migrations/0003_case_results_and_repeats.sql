-- The sender's side of the current state: repeats (reopened as not satisfied), last rating,
-- and when the result was published.
ALTER TABLE {db}.cases
    ADD COLUMN repeat_count UInt16 DEFAULT 0,
    ADD COLUMN rating String DEFAULT '',
    ADD COLUMN published_at Nullable(DateTime('Asia/Ho_Chi_Minh'));
