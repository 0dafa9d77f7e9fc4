-- Analysts without FINAL (docs/analyst-queries.md): in the analysts' database, one v_ view per
-- table that presents each fact once (FINAL inside; removed dimension rows left out). Views over
-- tables of the same database are readable by the 18.16 analyst (allow_databases); on current
-- ClickHouse the analyst roles also get final = 1 (sinks/access/current.sql). The typed views
-- v_stage_completions and v_transitions are the event facts of one event type, named for what
-- analysts ask. The tables stay: a BI tool may still read them with FINAL.
CREATE VIEW IF NOT EXISTS {db}_analytics.v_cases AS
SELECT * FROM {db}_analytics.cases FINAL;

CREATE VIEW IF NOT EXISTS {db}_analytics.v_case_events AS
SELECT * FROM {db}_analytics.case_events FINAL;

CREATE VIEW IF NOT EXISTS {db}_analytics.v_event_facts AS
SELECT * FROM {db}_analytics.case_event_facts FINAL;

CREATE VIEW IF NOT EXISTS {db}_analytics.v_stage_completions AS
SELECT
    event_id,
    case_id,
    occurred_at AS completed_at,
    unit_code,
    stage,
    level,
    due_at,
    on_time,
    late_working_minutes,
    used_working_minutes
FROM {db}_analytics.case_event_facts FINAL
WHERE event_type = 'stage_completed';

CREATE VIEW IF NOT EXISTS {db}_analytics.v_transitions AS
SELECT
    event_id,
    case_id,
    occurred_at,
    command,
    from_status,
    to_status,
    unit_code,
    target_unit,
    level,
    reason,
    rating,
    repeat_count
FROM {db}_analytics.case_event_facts FINAL
WHERE event_type = 'case_transition';

CREATE VIEW IF NOT EXISTS {db}_analytics.v_unit_month_tallies AS
SELECT * FROM {db}_analytics.unit_month_tallies FINAL;

CREATE VIEW IF NOT EXISTS {db}_analytics.v_oversight_flags AS
SELECT * FROM {db}_analytics.oversight_flags FINAL;

CREATE VIEW IF NOT EXISTS {db}_analytics.v_reception_bookings AS
SELECT * FROM {db}_analytics.reception_bookings FINAL;

CREATE VIEW IF NOT EXISTS {db}_analytics.v_warnings AS
SELECT * FROM {db}_analytics.warnings FINAL;

CREATE VIEW IF NOT EXISTS {db}_analytics.v_warning_deliveries AS
SELECT * FROM {db}_analytics.warning_deliveries FINAL;

CREATE VIEW IF NOT EXISTS {db}_analytics.v_units AS
SELECT directory, code, kind, subtype, name_vi, name_en, parent, area_code, domains,
       valid_from, valid_until, in_use, loaded_at
FROM {db}_analytics.dim_units FINAL
WHERE removed = 0;

CREATE VIEW IF NOT EXISTS {db}_analytics.v_categories AS
SELECT code, process, name_vi, name_en, loaded_at
FROM {db}_analytics.dim_categories FINAL
WHERE removed = 0;

CREATE VIEW IF NOT EXISTS {db}_analytics.v_calendar AS
SELECT day, working, working_minutes, day_kind, reason, source, confirmed, loaded_at
FROM {db}_analytics.dim_calendar FINAL
