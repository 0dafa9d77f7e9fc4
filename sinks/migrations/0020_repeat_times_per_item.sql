-- §6 "5 lần trở lên" counted per item (issue 14): items that reached the threshold this month,
-- and items of the month at or above it (processors/tallies.py FACTS; docs/oversight.md).
-- Rows written before read 0. The analysts' copy gets the same columns (its view is SELECT *).
ALTER TABLE {db}.unit_month_tallies
    ADD COLUMN repeat_times_reached UInt32 DEFAULT 0,
    ADD COLUMN repeat_times_at_or_above UInt32 DEFAULT 0;

ALTER TABLE {db}_analytics.unit_month_tallies
    ADD COLUMN repeat_times_reached UInt32 DEFAULT 0,
    ADD COLUMN repeat_times_at_or_above UInt32 DEFAULT 0;
