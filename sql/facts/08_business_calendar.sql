-- facts.business_calendar (table, kept by the loader) and facts.business_calendar_coverage
--
-- Grain: one row per open interval of one schedule (inbox.business_hours, keyed by channel_id
-- and valid_from), materialised for the local dates the data needs (coverage, below). The open
-- intervals of business-hours.md, "Local times and instants": each shift of a local date that is
-- not closed, its bounds read as PostgreSQL reads a wall time in the schedule's zone
-- (`timestamp at time zone zone`: a wall time in a gap with the offset before it, a repeated one
-- with the offset after it), except 00:00 and 24:00, which are the first instant of the date and
-- of the next one (facts.local_day_start). A shift lasts the real time between its two instants:
-- one that ends at or before it starts in real time (02:30-03:00 on a day clocks jump from 02:00
-- to 03:00) is empty, and the shifts of a day that overlap in real time (around a jump) are merged,
-- so that no second counts twice. Each interval is also clipped to its local date
-- [first instant, first instant of the next date), which keeps the dates apart; it changes
-- nothing in any zone whose midnight is not inside a gap that begins the evening before (none
-- since 1970; docs/decisions.md).
--
-- open_seconds_before is the schedule's open time before the interval, from the start of its
-- calendar: the business time of [a, b) is then open_until(b) - open_until(a), two index probes
-- whatever the length of [a, b) (facts.business_seconds).
--
-- facts.business_calendar_coverage records, per schedule, the local dates its calendar holds:
-- [first_day, until_day), first_day being the local date of valid_from and covered_until the
-- first instant of until_day. The loader extends it (facts.extend_business_calendars) before it
-- computes the facts of the conversations of a batch, to beyond their latest human reply, in
-- steps of at least 32 days; a schedule whose record changes loses its calendar, which is built
-- again as its conversations are refreshed (FactMaintenance, facts.refresh). The calendar is a
-- cache of facts.compute_business_calendar: facts.differences() compares it with a recomputation
-- over its coverage and lists any conversation whose first response lies beyond it.

create table facts.business_calendar (
    channel_id          text not null,
    valid_from          timestamptz not null,
    opens_at            timestamptz not null,
    closes_at           timestamptz not null,
    open_seconds_before numeric not null,
    primary key (channel_id, valid_from, opens_at)
);

comment on table facts.business_calendar is
'One row per open interval [opens_at, closes_at) of a schedule (channel_id, valid_from), over the local dates of its coverage: each open shift''s instants, merged within a local date.';
comment on column facts.business_calendar.open_seconds_before is
'Open seconds of the schedule''s calendar before opens_at (from the start of its coverage).';

create table facts.business_calendar_coverage (
    channel_id    text not null,
    valid_from    timestamptz not null,
    first_day     date not null,
    until_day     date not null,
    covered_until timestamptz not null,
    primary key (channel_id, valid_from)
);

comment on table facts.business_calendar_coverage is
'The local dates [first_day, until_day) whose open intervals facts.business_calendar holds for a schedule; covered_until is the first instant of until_day.';

-- The open intervals of schedule (channel_id, valid_from) on the local dates [from_day,
-- until_day), with the open seconds before each counted from from_day.
create function facts.compute_business_calendar(schedule_channel_id text, schedule_valid_from timestamptz,
                                                from_day date, until_day date)
returns table (channel_id text, valid_from timestamptz, opens_at timestamptz, closes_at timestamptz,
               open_seconds_before numeric)
language sql stable
as $$
    with schedule as (
        select b.channel_id, b.valid_from, b.time_zone, b.weekly, b.closed_dates
        from inbox.business_hours as b
        where b.channel_id = schedule_channel_id
          and b.valid_from = schedule_valid_from
    ),

    open_days as (
        select
            s.*,
            d.local_day,
            facts.local_day_start(d.local_day, s.time_zone) as day_starts_at,
            facts.local_day_start(d.local_day + 1, s.time_zone) as day_ends_at
        from schedule as s
        cross join lateral (
            select g::date as local_day
            from generate_series(from_day::timestamp, (until_day - 1)::timestamp, interval '1 day') as g
        ) as d
        where d.local_day <> all (s.closed_dates)
    ),

    shift_instants as (
        select
            o.local_day,
            greatest(o.day_starts_at,
                     case when sh.start = '00:00' then o.day_starts_at
                          else (o.local_day + sh.start::time) at time zone o.time_zone end) as opens_at,
            least(o.day_ends_at,
                  case when sh."end" = '24:00' then o.day_ends_at
                       else (o.local_day + sh."end"::time) at time zone o.time_zone end) as closes_at
        from open_days as o
        cross join lateral jsonb_to_recordset(o.weekly) as sh(day text, start text, "end" text)
        where array_position(array['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'], sh.day)
              = extract(isodow from o.local_day)
    ),

    open_intervals as (
        select m.local_day, lower(m.open_range) as opens_at, upper(m.open_range) as closes_at
        from (
            select si.local_day, unnest(range_agg(tstzrange(si.opens_at, si.closes_at, '[)'))) as open_range
            from shift_instants as si
            where si.opens_at < si.closes_at
            group by si.local_day
        ) as m
    )

    select
        schedule_channel_id,
        schedule_valid_from,
        i.opens_at,
        i.closes_at,
        coalesce(sum(facts.seconds_between(i.opens_at, i.closes_at))
                     over (order by i.opens_at rows between unbounded preceding and 1 preceding), 0)
    from open_intervals as i
$$;
comment on function facts.compute_business_calendar(text, timestamptz, date, date) is
'The open intervals of the schedule (channel_id, valid_from) on the local dates [from_day, until_day) of its zone, with the open seconds before each, counted from from_day.';

-- Extends the calendars the given conversations need: for each channel, every schedule in force
-- at or before the latest human reply of those conversations is made to cover it (a first
-- response is a human reply, and the schedule that governs it took effect at or before it).
create function facts.extend_business_calendars(conversation_ids text[])
returns void
language plpgsql
set jit = off
as $$
declare
    need record;
    new_until date;
    base numeric;
begin
    for need in
        -- per conversation through the indexes (laterals with `offset 0`), so that the cost
        -- follows the number of conversations, not the size of the tables
        with needs as (
            select c.channel_id, max(hr.latest_reply_at) as needed_until
            from unnest(conversation_ids) as k(conversation_id)
            cross join lateral (
                select c.channel_id
                from inbox.conversations as c
                where c.conversation_id = k.conversation_id
                offset 0
            ) as c
            cross join lateral (
                select max(hr.created_at) as latest_reply_at
                from facts.human_replies as hr
                where hr.conversation_id = k.conversation_id
            ) as hr
            group by c.channel_id
        )
        select b.channel_id, b.valid_from, b.time_zone, n.needed_until, cov.until_day
        from needs as n
        inner join inbox.business_hours as b
            on b.channel_id = n.channel_id
           and b.valid_from <= n.needed_until
        left join facts.business_calendar_coverage as cov
            on cov.channel_id = b.channel_id
           and cov.valid_from = b.valid_from
        where cov.covered_until is null
           or cov.covered_until < n.needed_until
        order by b.channel_id, b.valid_from
    loop
        new_until := greatest((need.needed_until at time zone need.time_zone)::date + 1,
                              coalesce(need.until_day, (need.valid_from at time zone need.time_zone)::date) + 32);
        if need.until_day is null then
            insert into facts.business_calendar
            select * from facts.compute_business_calendar(need.channel_id, need.valid_from,
                                                          (need.valid_from at time zone need.time_zone)::date, new_until);
            insert into facts.business_calendar_coverage (channel_id, valid_from, first_day, until_day, covered_until)
            values (need.channel_id, need.valid_from, (need.valid_from at time zone need.time_zone)::date, new_until,
                    facts.local_day_start(new_until, need.time_zone));
        else
            select c.open_seconds_before + facts.seconds_between(c.opens_at, c.closes_at)
            into base
            from facts.business_calendar as c
            where c.channel_id = need.channel_id
              and c.valid_from = need.valid_from
            order by c.opens_at desc
            limit 1;
            insert into facts.business_calendar
            select r.channel_id, r.valid_from, r.opens_at, r.closes_at, r.open_seconds_before + coalesce(base, 0)
            from facts.compute_business_calendar(need.channel_id, need.valid_from, need.until_day, new_until) as r;
            update facts.business_calendar_coverage
            set until_day = new_until,
                covered_until = facts.local_day_start(new_until, need.time_zone)
            where channel_id = need.channel_id
              and valid_from = need.valid_from;
        end if;
    end loop;
end;
$$;
comment on function facts.extend_business_calendars(text[]) is
'Extends facts.business_calendar so that the schedules of the given conversations'' channels cover their latest human reply (by at least 32 days at a time).';

-- Drops the calendars of the given schedules (their record changed); they are built again as
-- their conversations are refreshed. Takes the facts' advisory lock first (facts.refresh), held
-- to the end of the transaction: concurrent loaders change the calendars one at a time, and the
-- conversations the loader then reads as touched include those another loader had refreshed. The
-- loader calls it after the batch's upserts (FactMaintenance.refreshTouched).
create function facts.forget_business_calendars(channel_ids text[], valid_froms timestamptz[])
returns void
language sql
as $$
    select pg_advisory_xact_lock(hashtext('inbox-warehouse:facts'));
    delete from facts.business_calendar as c
    using unnest(channel_ids, valid_froms) as s(channel_id, valid_from)
    where c.channel_id = s.channel_id
      and c.valid_from = s.valid_from;
    delete from facts.business_calendar_coverage as c
    using unnest(channel_ids, valid_froms) as s(channel_id, valid_from)
    where c.channel_id = s.channel_id
      and c.valid_from = s.valid_from;
$$;
comment on function facts.forget_business_calendars(text[], timestamptz[]) is
'Deletes the calendar and coverage of the schedules (channel_ids[i], valid_froms[i]).';
