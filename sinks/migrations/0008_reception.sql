-- Citizen-reception booking figures (processors/reception.py, docs/reception.md): each booking's
-- latest status and slot, from the compacted reception.bookings topic. No identity, no subject,
-- no pseudonym: the rows are figures only, so the analysts' database gets a copy (as 0005 does
-- for the other tables). ReplacingMergeTree by version: read with FINAL (the views do).
CREATE TABLE IF NOT EXISTS {db}.reception_bookings
(
    session_id UUID,
    session_date Date,
    booking_code String,
    slot_id String,
    status String,
    version UInt32,
    moves UInt16,
    booked_at DateTime('Asia/Ho_Chi_Minh'),
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(session_date)
ORDER BY (session_id, booking_code);

CREATE TABLE IF NOT EXISTS {db}_analytics.reception_bookings AS {db}.reception_bookings;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.reception_bookings_to_analytics
TO {db}_analytics.reception_bookings AS
SELECT * FROM {db}.reception_bookings;

-- Per session and slot: bookings made (a moved booking counts in the slot it holds now),
-- cancellations, attendance (checked in), no-shows, moves.
CREATE VIEW IF NOT EXISTS {db}.reception_slot_figures AS
SELECT
    session_id,
    session_date,
    slot_id,
    count() AS bookings,
    countIf(status = 'cancelled') AS cancellations,
    countIf(status = 'checked_in') AS attended,
    countIf(status = 'no_show') AS no_shows,
    sum(moves) AS moves
FROM {db}.reception_bookings FINAL
GROUP BY session_id, session_date, slot_id;

CREATE VIEW IF NOT EXISTS {db}_analytics.reception_slot_figures AS
SELECT
    session_id,
    session_date,
    slot_id,
    count() AS bookings,
    countIf(status = 'cancelled') AS cancellations,
    countIf(status = 'checked_in') AS attended,
    countIf(status = 'no_show') AS no_shows,
    sum(moves) AS moves
FROM {db}_analytics.reception_bookings FINAL
GROUP BY session_id, session_date, slot_id
