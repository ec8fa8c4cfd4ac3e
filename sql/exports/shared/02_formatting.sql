-- formatting shared by the export views, and session-parameter conveniences for psql users.
--
-- Durations are computed exactly as numeric seconds (facts.seconds_between, sql/facts/01_rules.sql),
-- summed or averaged exactly, and rounded once, half away from zero, to whole seconds
-- (docs/decisions.md, "Formatting"). The duration and interval rules themselves live in
-- sql/facts/01_rules.sql; the functions below that read R from the session only apply them.

create function export.format_timestamp(at timestamptz) returns text
language sql stable parallel safe
as $$ select to_char(at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM') $$;
comment on function export.format_timestamp(timestamptz) is
'YYYY-MM-DDTHH:MM:SS+HH:MM in the session TimeZone (set by export.set_parameters); fractional seconds are truncated.';

create function export.seconds_between(earlier timestamptz, later timestamptz) returns numeric
language sql immutable parallel safe
as $$ select facts.seconds_between(earlier, later) $$;
comment on function export.seconds_between(timestamptz, timestamptz) is
'Exact seconds (with microseconds) from earlier to later; negative when later is before earlier; null if either is null.';

create function export.round_seconds(seconds numeric) returns bigint
language sql immutable parallel safe
as $$ select round(seconds)::bigint $$;
comment on function export.round_seconds(numeric) is 'Whole seconds, rounded half away from zero.';

create function export.duration_seconds(duration interval) returns bigint
language sql immutable parallel safe
as $$ select round(extract(epoch from duration))::bigint $$;
comment on function export.duration_seconds(interval) is 'An interval as whole seconds, rounded half away from zero.';

create function export.clipped_seconds(started_at timestamptz, ended_at timestamptz) returns numeric
language sql stable parallel safe
as $$ select facts.clipped_seconds(started_at, ended_at, export.range_start(), export.range_end()) $$;
comment on function export.clipped_seconds(timestamptz, timestamptz) is
'Exact seconds of [started_at, ended_at) that lie inside R (the session''s range; facts.clipped_seconds); 0 when the interval does not meet R or is empty.';

-- Intervals (lock sessions, presence) are half-open, [started_at, ended_at); an ongoing one ends at
-- T (exports.md, "Precise readings", Intervals): the rule is facts.overlaps (sql/facts/01_rules.sql),
-- which every export uses; this is its reading for the session's R.
create function export.overlaps_range(started_at timestamptz, ended_at timestamptz) returns boolean
language sql stable parallel safe
as $$ select facts.overlaps(started_at, ended_at, export.range_start(), export.range_end()) $$;
comment on function export.overlaps_range(timestamptz, timestamptz) is
'True when the interval [started_at, ended_at) is not empty (started_at < ended_at) and overlaps R = [range_start, range_end) of the session (facts.overlaps).';

-- State at T of a topic or tag application, for the session's T (facts.application_period).
create function export.is_current_at_as_of(applied_at timestamptz, removed_at timestamptz) returns boolean
language sql stable parallel safe
as $$ select facts.application_period(applied_at, removed_at) @> export.as_of() $$;
comment on function export.is_current_at_as_of(timestamptz, timestamptz) is
'Whether a topic or tag application is current at T: applied at or before T and not removed at T (removed_at null or later than T).';

create function export.percent(numerator numeric, denominator numeric) returns numeric
language sql immutable parallel safe
as $$ select case when denominator <> 0 then round(numerator * 100 / denominator, 1) end $$;
comment on function export.percent(numeric, numeric) is
'numerator / denominator x 100 rounded half away from zero to one decimal; null when the denominator is 0 or null.';
