-- Stage clocks on the current state: the handling level, the assigning and handling deadlines,
-- and the stages that went past their deadline (breached, or completed late).
ALTER TABLE {db}.cases
    ADD COLUMN level String DEFAULT '',
    ADD COLUMN assign_due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    ADD COLUMN handle_due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    ADD COLUMN late_stages Array(String);
