-- export.topics (`topics`)
--
-- Grain: one row per (topic, channel) for every topic applied in R to at least one loaded
-- conversation of that channel (selected channels only). An application in R counts even if it
-- was removed later; "still carries the topic at T" (an application dated at or before T and not
-- removed at T) is facts.conversation_topics' current_during. Order (the CSV view): topic name (C collation, missing names last), topic id,
-- channel id.
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed), _between
-- (dates in a zone), the view (CSV cells for the session's parameters).

create type export.topics_row as (
    topic_id                    text,
    channel_id                  text,
    topic_name                  text,
    is_active                   boolean,
    total_conversations         bigint,
    current_total_conversations bigint,
    medium                      text,
    channel                     text,
    channel_display_name        text
);

create function export.topics_within(
    range_start timestamptz,
    range_end   timestamptz,
    as_of       timestamptz default now(),
    channel_ids text[] default null
)
returns setof export.topics_row
language sql stable parallel safe
as $$
    with topic_conversations as (
        select distinct ta.topic_id, ta.channel_id, ta.conversation_id
        from facts.topic_applications as ta
        where ta.applied_at >= range_start
          and ta.applied_at < range_end
          and ta.channel_id is not null
          and export.channel_matches(ta.channel_id, channel_ids)
    ),

    per_topic_channel as (
        select
            tc.topic_id,
            tc.channel_id,
            count(*) as total_conversations,
            count(*) filter (where ct.current_during @> as_of) as current_total_conversations
        from topic_conversations as tc
        left join facts.conversation_topics as ct
            on ct.conversation_id = tc.conversation_id
           and ct.topic_id = tc.topic_id
        group by tc.topic_id, tc.channel_id
    )

    select
        p.topic_id,
        p.channel_id,
        t.name,
        t.is_active,
        p.total_conversations,
        p.current_total_conversations,
        ch.medium,
        ch.name,
        ch.display_name
    from per_topic_channel as p
    left join inbox.topics as t
        on t.topic_id = p.topic_id
    left join inbox.channels as ch
        on ch.channel_id = p.channel_id
$$;
comment on function export.topics_within(timestamptz, timestamptz, timestamptz, text[]) is
'topics, typed: one row per (topic, channel) for every topic applied in [range_start, range_end) to a conversation of that channel (channel filter: null = all); current totals at as_of. Unordered.';

create function export.topics_between(
    from_date   date,
    to_date     date,
    time_zone   text default 'UTC',
    channel_ids text[] default null,
    as_of       timestamptz default now()
)
returns setof export.topics_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, is_range_required => true) as p
    cross join lateral export.topics_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids) as x
$$;
comment on function export.topics_between(date, date, text, text[], timestamptz) is
'topics, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.topics as
select
    t.topic_id,
    t.topic_name,
    t.is_active::text as active,
    t.total_conversations,
    t.current_total_conversations,
    t.medium,
    t.channel,
    t.channel_display_name
from export.rows_for_session(null::export.topics_row, 'topics_within') as t
order by t.topic_name collate "C" nulls last, t.topic_id collate "C", t.channel_id collate "C";

comment on view export.topics is
'topics: one row per (topic, channel) for every topic applied in R to at least one conversation of that channel. Order: topic name, topic id, channel id.';
comment on column export.topics.topic_id is 'Topic ID.';
comment on column export.topics.topic_name is 'Topic Name.';
comment on column export.topics.active is 'Active: topic active (true/false).';
comment on column export.topics.total_conversations is 'Total Conversations: distinct conversations of the channel with this topic applied in R (even if removed later).';
comment on column export.topics.current_total_conversations is 'Current Total Conversations: of those, the ones that still carry the topic at T.';
comment on column export.topics.medium is 'Medium: channel''s medium.';
comment on column export.topics.channel is 'Channel: channel''s name.';
comment on column export.topics.channel_display_name is 'Channel Display Name: channel''s display name.';
