-- formatting and duration arithmetic shared by the export views.
--
-- Durations are computed exactly as numeric seconds (extract(epoch ...) is exact to the
-- microsecond on PostgreSQL 14+), summed or averaged exactly, and rounded once, half away from
-- zero, to whole seconds (docs/decisions.md, "Formatting").

create function export.format_timestamp(at timestamptz) returns text
language sql stable parallel safe
as $$ select to_char(at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM') $$;
comment on function export.format_timestamp(timestamptz) is
'YYYY-MM-DDTHH:MM:SS+HH:MM in the session TimeZone (set by export.set_parameters); fractional seconds are truncated.';

create function export.seconds_between(earlier timestamptz, later timestamptz) returns numeric
language sql stable parallel safe
as $$ select extract(epoch from later) - extract(epoch from earlier) $$;
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
as $$
    select greatest(
        0::numeric,
        export.seconds_between(greatest(started_at, export.range_start()), least(ended_at, export.range_end()))
    )
$$;
comment on function export.clipped_seconds(timestamptz, timestamptz) is
'Exact seconds of [started_at, ended_at) that lie inside R; 0 when the interval does not meet R or is empty.';

-- Intervals (lock sessions, presence) are half-open, [started_at, ended_at); an ongoing one ends at
-- T (exports.md, "Precise readings", Intervals). One with ended_at <= started_at, including an
-- ongoing one that starts at or after T, is empty: it overlaps nothing, so it makes no row and
-- enters no scope, count or average. Every "overlaps R" of the views is this function.
create function export.overlaps_range(started_at timestamptz, ended_at timestamptz) returns boolean
language sql stable parallel safe
as $$ select started_at < ended_at and started_at < export.range_end() and ended_at > export.range_start() $$;
comment on function export.overlaps_range(timestamptz, timestamptz) is
'True when the interval [started_at, ended_at) is not empty (started_at < ended_at) and overlaps R = [range_start, range_end) (started_at < R end and ended_at > R start).';

create function export.percent(numerator numeric, denominator numeric) returns numeric
language sql immutable parallel safe
as $$ select case when denominator <> 0 then round(numerator * 100 / denominator, 1) end $$;
comment on function export.percent(numeric, numeric) is
'numerator / denominator x 100 rounded half away from zero to one decimal; null when the denominator is 0 or null.';
