-- facts rules: the scalar definitions every fact and every export shares (exports.md, "Shared
-- definitions" and "Precise readings"). Each rule is written here once; the fact relations
-- (sql/facts/) and the export views and functions (sql/exports/) call these functions instead
-- of repeating the expression.
--
-- Durations are exact numeric seconds (extract(epoch ...) is exact to the microsecond on
-- PostgreSQL 14+), summed or averaged exactly and rounded once, at the end, by the exports.

-- Durations ------------------------------------------------------------------------------------

-- Each instant is read as a UTC timestamp before its epoch is taken: `timestamptz at time zone
-- 'UTC'` and `extract(epoch from timestamp)` are immutable, so PostgreSQL inlines this function
-- into every query. (`extract(epoch from timestamptz)` is only stable, and an immutable SQL function
-- whose body is not is never inlined: it ran as a function call per row.) Same values, microseconds
-- and infinities included ('infinity' gives Infinity, as before; the difference of the two
-- timestamps would raise an error there).
create function facts.seconds_between(earlier timestamptz, later timestamptz) returns numeric
language sql immutable parallel safe
as $$ select extract(epoch from later at time zone 'UTC') - extract(epoch from earlier at time zone 'UTC') $$;
comment on function facts.seconds_between(timestamptz, timestamptz) is
'Exact seconds (with microseconds) from earlier to later; negative when later is before earlier; null if either is null.';

-- Intervals (lock sessions, presence) ---------------------------------------------------------

-- The length of an interval [started_at, ended_at); an empty one (it ends at or before it starts,
-- such as an ongoing one that starts at or after T) counts 0.
create function facts.interval_seconds(started_at timestamptz, ended_at timestamptz) returns numeric
language sql immutable parallel safe
as $$ select greatest(0::numeric, facts.seconds_between(started_at, ended_at)) $$;
comment on function facts.interval_seconds(timestamptz, timestamptz) is
'Length of the interval [started_at, ended_at] in exact seconds; 0 when it ends before it starts; null if either end is null.';

-- Intervals are half-open, [started_at, ended_at); an ongoing one ends at T (exports.md, "Precise
-- readings", Intervals). One with ended_at <= started_at, including an ongoing one that starts at
-- or after T, is empty: it overlaps nothing, so it makes no row and enters no scope, count or
-- average. Every "overlaps R" of the exports is this function.
create function facts.overlaps(started_at timestamptz, ended_at timestamptz,
                               range_start timestamptz, range_end timestamptz) returns boolean
language sql immutable parallel safe
as $$ select started_at < ended_at and started_at < range_end and ended_at > range_start $$;
comment on function facts.overlaps(timestamptz, timestamptz, timestamptz, timestamptz) is
'True when the interval [started_at, ended_at) is not empty and overlaps the range [range_start, range_end) (starts before the range ends and ends after it starts).';

-- The part of an interval inside the range, in seconds.
create function facts.clipped_seconds(started_at timestamptz, ended_at timestamptz,
                                      range_start timestamptz, range_end timestamptz) returns numeric
language sql immutable parallel safe
as $$ select facts.interval_seconds(greatest(started_at, range_start), least(ended_at, range_end)) $$;
comment on function facts.clipped_seconds(timestamptz, timestamptz, timestamptz, timestamptz) is
'Exact seconds of [started_at, ended_at] that lie inside [range_start, range_end); 0 when the interval does not meet the range.';

-- Lock classes --------------------------------------------------------------------------------

-- A lock session L = [started_at, effective_ended_at] of agent A is HANDLING if A wrote a
-- non-deleted outbound message in the conversation within L, else NO_REPLY if A resolved the
-- conversation within L, else CHERRY_PICKING. The class is decided on the whole session, bounds
-- included. The inputs are the earliest such message and resolve at or after the session's start
-- (facts.lock_sessions), so "within L" is "at or before its end".
create function facts.lock_class(first_own_outbound_at timestamptz, first_own_resolve_at timestamptz,
                                 effective_ended_at timestamptz) returns text
language sql immutable parallel safe
as $$
    select case
        when first_own_outbound_at <= effective_ended_at then 'HANDLING'
        when first_own_resolve_at <= effective_ended_at then 'NO_REPLY'
        else 'CHERRY_PICKING'
    end
$$;
comment on function facts.lock_class(timestamptz, timestamptz, timestamptz) is
'HANDLING when the lock holder''s first own outbound message at or after the session''s start is at or before its end; else NO_REPLY when its first own resolve is; else CHERRY_PICKING.';

-- Topic and tag applications ------------------------------------------------------------------

-- The instants T at which an application is current (exports.md, "Precise readings", State at
-- T): dated at or before T and not removed at T (removed_at empty or later than T; a removal at
-- exactly T counts), i.e. [applied_at, removed_at); empty when it was removed at or before it was
-- applied.
create function facts.application_period(applied_at timestamptz, removed_at timestamptz) returns tstzrange
language sql immutable parallel safe
as $$
    select case when removed_at <= applied_at then 'empty'::tstzrange
                else tstzrange(applied_at, removed_at, '[)') end
$$;
comment on function facts.application_period(timestamptz, timestamptz) is
'The instants T at which a topic or tag application is current: [applied_at, removed_at) (from applied_at on when never removed; empty when removed at or before applied_at).';
