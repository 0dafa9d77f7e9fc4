-- Handled on time / late per level, rejected by reason, open at month end (processors/tallies.py
-- FACTS after `late`; docs/oversight.md). Rows written before read 0 in the new columns. The
-- analysts' copy gets the same columns; its materialized view (SELECT *) carries them over.
ALTER TABLE {db}.unit_month_tallies
    ADD COLUMN handle_on_time_urgent UInt32 DEFAULT 0,
    ADD COLUMN handle_on_time_normal UInt32 DEFAULT 0,
    ADD COLUMN handle_on_time_complex UInt32 DEFAULT 0,
    ADD COLUMN handle_late_urgent UInt32 DEFAULT 0,
    ADD COLUMN handle_late_normal UInt32 DEFAULT 0,
    ADD COLUMN handle_late_complex UInt32 DEFAULT 0,
    ADD COLUMN rejected_out_of_scope_complaint UInt32 DEFAULT 0,
    ADD COLUMN rejected_state_secret UInt32 DEFAULT 0,
    ADD COLUMN rejected_insufficient_information UInt32 DEFAULT 0,
    ADD COLUMN rejected_offensive UInt32 DEFAULT 0,
    ADD COLUMN rejected_reused_or_edited_media UInt32 DEFAULT 0,
    ADD COLUMN rejected_duplicate UInt32 DEFAULT 0,
    ADD COLUMN open_at_month_end UInt32 DEFAULT 0;

ALTER TABLE {db}_analytics.unit_month_tallies
    ADD COLUMN handle_on_time_urgent UInt32 DEFAULT 0,
    ADD COLUMN handle_on_time_normal UInt32 DEFAULT 0,
    ADD COLUMN handle_on_time_complex UInt32 DEFAULT 0,
    ADD COLUMN handle_late_urgent UInt32 DEFAULT 0,
    ADD COLUMN handle_late_normal UInt32 DEFAULT 0,
    ADD COLUMN handle_late_complex UInt32 DEFAULT 0,
    ADD COLUMN rejected_out_of_scope_complaint UInt32 DEFAULT 0,
    ADD COLUMN rejected_state_secret UInt32 DEFAULT 0,
    ADD COLUMN rejected_insufficient_information UInt32 DEFAULT 0,
    ADD COLUMN rejected_offensive UInt32 DEFAULT 0,
    ADD COLUMN rejected_reused_or_edited_media UInt32 DEFAULT 0,
    ADD COLUMN rejected_duplicate UInt32 DEFAULT 0,
    ADD COLUMN open_at_month_end UInt32 DEFAULT 0;
