-- facts.local_day_start(day, zone)
--
-- The first instant of a local date (exports.md, "Precise readings", Days in a zone): the
-- smallest instant whose wall-clock date in the zone is `day`. Every date bound of a range is read
-- through it (export.local_day_start: R = [local_day_start(from), local_day_start(to + 1))), and
-- so are a business-hours shift's 00:00 and 24:00 (business-hours.md: the first instant of the
-- local date and of the next one; facts.business_calendar).
--
-- PostgreSQL's own reading of a wall time, `day::timestamp at time zone zone`, is right for an
-- ordinary midnight and for a midnight skipped by a gap (it reads it with the offset in force
-- before the gap, which gives the transition instant, the day's first: 01:00 in Havana on
-- 2026-03-08). For a midnight that occurs twice it gives the LATER occurrence (Atlantic/Azores,
-- 2026-10-25: 01:00Z, local 00:00-01:00), one hour into the day. So midnight is also read with
-- the offset in force 24 hours before that instant, which is its earlier occurrence (00:00Z, local
-- 00:00+00:00) when that instant really shows midnight in the zone; the earlier of the readings
-- that do is the day's start. (Only exact intervals are added to instants, never days, so the
-- session's TimeZone plays no part.) Should midnight fall inside a gap that starts before it (no zone has
-- had one since 1970), the day starts at the end of the gap, found second by second (tz
-- transitions are whole seconds). Checked against tools/reference (Python zoneinfo) for every
-- zone on the days around every transition near midnight from 1970 to 2037.
create function facts.local_day_start(day date, zone text) returns timestamptz
language sql stable strict parallel safe
as $$
    with readings as (
        select
            day::timestamp as midnight,
            day::timestamp at time zone zone as postgres_instant
    ),

    earlier as (
        select
            r.*,
            (r.midnight - (((r.postgres_instant - interval '24 hours') at time zone zone)
                           - ((r.postgres_instant - interval '24 hours') at time zone 'UTC'))) at time zone 'UTC' as earlier_instant
        from readings as r
    )

    select case
        when (e.earlier_instant at time zone zone) = e.midnight then e.earlier_instant
        when (e.postgres_instant at time zone zone) = e.midnight then e.postgres_instant
        -- midnight does not exist: the day starts at the first instant past the gap
        else coalesce((
            select min(g.instant)
            from generate_series(e.postgres_instant
                                     - extract(epoch from (e.postgres_instant at time zone zone) - e.midnight) * interval '1 second',
                                 e.postgres_instant, interval '1 second') as g(instant)
            where (g.instant at time zone zone) >= e.midnight
        ), e.postgres_instant)
    end
    from earlier as e
$$;
comment on function facts.local_day_start(date, text) is
'The first instant of local date day in zone (the first occurrence of a repeated midnight; the first existing wall time when midnight does not exist).';
