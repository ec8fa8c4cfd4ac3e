-- 0030: business hours per channel (../shared/spec/business-hours.md, issue 13).
--
--   inbox.business_hours  one row per (channel, valid_from): the channel's schedule from that
--                         instant on, in its own time zone, until the next one takes over.
--
-- Stored as the loader validated it: time_zone in PostgreSQL's spelling of the IANA name (the
-- record's name matched case-insensitively), weekly as a jsonb array of shifts
-- {"day", "start", "end"} ordered by day (MON first), then start, with any other member of a
-- shift dropped; closed_dates as a sorted array of distinct local dates (empty when the record
-- has none). Numbered 0030 so that migrations landing on other branches meanwhile (0004...) do
-- not collide with it.

create table inbox.business_hours (
    channel_id   text not null,
    time_zone    text not null,
    valid_from   timestamptz not null,
    weekly       jsonb not null check (jsonb_typeof(weekly) = 'array'),
    closed_dates date[] not null default '{}',
    updated_at   timestamptz,
    extra        jsonb,
    primary key (channel_id, valid_from)
);

comment on table inbox.business_hours is
'One row per business_hours record, keyed by (channel_id, valid_from): the channel''s weekly shifts and closed dates in force from valid_from until its next record (business-hours.md).';
comment on column inbox.business_hours.time_zone is 'IANA time zone the shifts and closed dates are read in (PostgreSQL''s spelling).';
comment on column inbox.business_hours.valid_from is 'The instant from which this schedule is in force for the channel.';
comment on column inbox.business_hours.weekly is 'Shifts as a jsonb array of {"day": MON..SUN, "start": "HH:MM", "end": "HH:MM"}, ordered by day then start; empty = closed all week.';
comment on column inbox.business_hours.closed_dates is 'Local dates (in time_zone) on which no shift opens, sorted; empty when none.';

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_reader') then
        grant select on inbox.business_hours to inbox_warehouse_reader;
    end if;
    if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_loader') then
        grant insert, update on inbox.business_hours to inbox_warehouse_loader;
    end if;
end
$$;
