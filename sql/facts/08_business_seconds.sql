-- facts.business_seconds(channel_id, started_at, ended_at)
--
-- Business time between two instants (business-hours.md, "Business time between two instants"):
-- the seconds of [started_at, ended_at) that fall inside the open intervals of the schedule in
-- force for the channel at started_at (its record with the greatest valid_from <= started_at),
-- that one schedule being used for the whole interval; with no schedule in force at started_at,
-- ended_at - started_at. Null when either instant is null. Exact seconds (microseconds), like
-- every duration of the facts (01_rules.sql).
--
-- Set-based: a single SELECT, so that PostgreSQL inlines it where it is called in FROM (LATERAL)
-- and plans it with the query: one index probe for the schedule, and one into the schedule's
-- calendar (facts.business_calendar) for each end, whatever the length of the interval. The
-- calendar must cover ended_at (facts.extend_business_calendars, run by facts.refresh). Read by
-- facts.compute_conversations (First Response Time) and nothing else.

create function facts.business_seconds(channel_id text, started_at timestamptz, ended_at timestamptz)
returns table (business_seconds numeric)
language sql stable
as $$
    select case
        when started_at is null or ended_at is null then null
        when s.valid_from is null then facts.seconds_between(started_at, ended_at)
        else coalesce(open_until_end.open_seconds, 0) - coalesce(open_until_start.open_seconds, 0)
    end
    from (select 1) as one
    left join lateral (
        select b.valid_from
        from inbox.business_hours as b
        where b.channel_id = business_seconds.channel_id
          and b.valid_from <= started_at
        order by b.valid_from desc
        limit 1
    ) as s on true
    left join lateral (
        select c.open_seconds_before + facts.seconds_between(c.opens_at, least(c.closes_at, started_at)) as open_seconds
        from facts.business_calendar as c
        where c.channel_id = business_seconds.channel_id
          and c.valid_from = s.valid_from
          and c.opens_at < started_at
        order by c.opens_at desc
        limit 1
    ) as open_until_start on true
    left join lateral (
        select c.open_seconds_before + facts.seconds_between(c.opens_at, least(c.closes_at, ended_at)) as open_seconds
        from facts.business_calendar as c
        where c.channel_id = business_seconds.channel_id
          and c.valid_from = s.valid_from
          and c.opens_at < ended_at
        order by c.opens_at desc
        limit 1
    ) as open_until_end on true
$$;
comment on function facts.business_seconds(text, timestamptz, timestamptz) is
'Business seconds of [started_at, ended_at) in the channel''s schedule in force at started_at (business-hours.md); ended_at - started_at when none is; null if either instant is null. The calendar must cover ended_at.';
