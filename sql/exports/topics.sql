-- export.topics (`topics`)
--
-- Grain: one row per (topic, channel) for every topic applied in R to at least one loaded
-- conversation of that channel (selected channels only). An application in R counts even if it
-- was removed later. Order: topic name (C collation, missing names last), topic id, channel id.
--
-- Plan: topic_applications.applied_at range scan joined to conversations by primary key; the
-- "still carries the topic at T" test is a lookup on topic_applications (conversation_id).

create view export.topics as
with applications_in_range as (
    select
        ta.topic_id,
        c.channel_id,
        ta.conversation_id
    from inbox.topic_applications as ta
    inner join inbox.conversations as c
        on c.conversation_id = ta.conversation_id
    where ta.applied_at >= export.range_start()
      and ta.applied_at < export.range_end()
      and export.channel_selected(c.channel_id)
),

topic_conversations as (
    select distinct a.topic_id, a.channel_id, a.conversation_id
    from applications_in_range as a
),

-- a conversation still carries the topic at T when any application of that topic to it is
-- current at T (export.is_current_at_as_of: dated at or before T, not removed at T).
flagged as (
    select
        tc.*,
        exists (
            select 1
            from inbox.topic_applications as cur
            where cur.conversation_id = tc.conversation_id
              and cur.topic_id = tc.topic_id
              and export.is_current_at_as_of(cur.applied_at, cur.removed_at)
        ) as is_current
    from topic_conversations as tc
),

per_topic_channel as (
    select
        f.topic_id,
        f.channel_id,
        count(*) as total_conversations,
        count(*) filter (where f.is_current) as current_total_conversations
    from flagged as f
    group by f.topic_id, f.channel_id
)

select
    p.topic_id,
    t.name as topic_name,
    t.is_active::text as active,
    p.total_conversations,
    p.current_total_conversations,
    ch.medium,
    ch.name as channel,
    ch.display_name as channel_display_name
from per_topic_channel as p
left join inbox.topics as t
    on t.topic_id = p.topic_id
left join inbox.channels as ch
    on ch.channel_id = p.channel_id
order by t.name collate "C" nulls last, p.topic_id collate "C", p.channel_id collate "C";

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
