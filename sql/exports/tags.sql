-- export.tags (`tags`)
--
-- Grain: one row per (tag, channel) for every tag applied in R to at least one non-deleted
-- message of a loaded conversation of that channel (selected channels only). Applications on
-- deleted messages are left out (facts.tag_applications). An application in R counts even if it
-- was removed later; "still carries the tag at T" (an application dated at or before T and not
-- removed at T) is facts.message_tags' current_during.
-- Order (the CSV view): tag name (C collation, missing names last), tag id, channel id.
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed), _between
-- (dates in a zone), the view (CSV cells for the session's parameters).

create type export.tags_row as (
    tag_id                 text,
    channel_id             text,
    tag_name               text,
    is_active              boolean,
    total_contacts         bigint,
    total_messages         bigint,
    current_total_messages bigint,
    medium                 text,
    channel                text,
    channel_display_name   text
);

create function export.tags_within(
    range_start timestamptz,
    range_end   timestamptz,
    as_of       timestamptz default now(),
    channel_ids text[] default null
)
returns setof export.tags_row
language sql stable parallel safe
as $$
    with tag_messages as (
        select distinct ta.tag_id, ta.channel_id, ta.message_id, ta.contact_id
        from facts.tag_applications as ta
        where ta.applied_at >= range_start
          and ta.applied_at < range_end
          and ta.channel_id is not null
          and export.channel_matches(ta.channel_id, channel_ids)
    ),

    per_tag_channel as (
        select
            tm.tag_id,
            tm.channel_id,
            count(distinct tm.contact_id) as total_contacts,
            count(*) as total_messages,
            count(*) filter (where mt.current_during @> as_of) as current_total_messages
        from tag_messages as tm
        left join facts.message_tags as mt
            on mt.message_id = tm.message_id
           and mt.tag_id = tm.tag_id
        group by tm.tag_id, tm.channel_id
    )

    select
        p.tag_id,
        p.channel_id,
        t.name,
        t.is_active,
        p.total_contacts,
        p.total_messages,
        p.current_total_messages,
        ch.medium,
        ch.name,
        ch.display_name
    from per_tag_channel as p
    left join inbox.tags as t
        on t.tag_id = p.tag_id
    left join inbox.channels as ch
        on ch.channel_id = p.channel_id
$$;
comment on function export.tags_within(timestamptz, timestamptz, timestamptz, text[]) is
'tags, typed: one row per (tag, channel) for every tag applied in [range_start, range_end) to a non-deleted message of a conversation of that channel (channel filter: null = all); current totals at as_of. Unordered.';

create function export.tags_between(
    from_date   date,
    to_date     date,
    time_zone   text default 'UTC',
    channel_ids text[] default null,
    as_of       timestamptz default now()
)
returns setof export.tags_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, is_range_required => true) as p
    cross join lateral export.tags_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids) as x
$$;
comment on function export.tags_between(date, date, text, text[], timestamptz) is
'tags, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.tags as
select
    t.tag_id,
    t.tag_name,
    t.is_active::text as active,
    t.total_contacts,
    t.total_messages,
    t.current_total_messages,
    t.medium,
    t.channel,
    t.channel_display_name
from export.rows_for_session(null::export.tags_row, 'tags_within') as t
order by t.tag_name collate "C" nulls last, t.tag_id collate "C", t.channel_id collate "C";

comment on view export.tags is
'tags: one row per (tag, channel) for every tag applied in R to at least one non-deleted message of a conversation of that channel. Order: tag name, tag id, channel id.';
comment on column export.tags.tag_id is 'Tag ID.';
comment on column export.tags.tag_name is 'Tag Name.';
comment on column export.tags.active is 'Active: tag active (true/false).';
comment on column export.tags.total_contacts is 'Total Contacts: distinct contacts of the conversations of those messages.';
comment on column export.tags.total_messages is 'Total Messages: distinct (non-deleted) messages of the channel tagged with it in R (even if removed later).';
comment on column export.tags.current_total_messages is 'Current Total Messages: of those, the ones that still carry the tag at T.';
comment on column export.tags.medium is 'Medium: channel''s medium.';
comment on column export.tags.channel is 'Channel: channel''s name.';
comment on column export.tags.channel_display_name is 'Channel Display Name: channel''s display name.';
