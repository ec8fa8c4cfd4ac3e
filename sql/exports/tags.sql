-- export.tags (`tags`)
--
-- Grain: one row per (tag, channel) for every tag applied in R to at least one non-deleted
-- message of a loaded conversation of that channel (selected channels only). Applications on
-- deleted messages are left out (of the counts and therefore of the scope). An application in R
-- counts even if it was removed later. Order: tag name (C collation, missing names last), tag id,
-- channel id.
--
-- Plan: tag_applications.applied_at range scan joined to messages and conversations by primary
-- key; the "still carries the tag at T" test is a lookup on tag_applications (message_id).

create view export.tags as
with applications_in_range as (
    select
        ta.tag_id,
        c.channel_id,
        ta.message_id,
        c.contact_id
    from inbox.tag_applications as ta
    inner join inbox.messages as m
        on m.message_id = ta.message_id
    inner join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    where ta.applied_at >= export.range_start()
      and ta.applied_at < export.range_end()
      and m.deleted_at is null
      and export.channel_selected(c.channel_id)
),

tag_messages as (
    select distinct a.tag_id, a.channel_id, a.message_id, a.contact_id
    from applications_in_range as a
),

-- a message still carries the tag at T when any application of that tag to it is current at T
-- (export.is_current_at_as_of: dated at or before T, not removed at T).
flagged as (
    select
        tm.*,
        exists (
            select 1
            from inbox.tag_applications as cur
            where cur.message_id = tm.message_id
              and cur.tag_id = tm.tag_id
              and export.is_current_at_as_of(cur.applied_at, cur.removed_at)
        ) as is_current
    from tag_messages as tm
),

per_tag_channel as (
    select
        f.tag_id,
        f.channel_id,
        count(distinct f.contact_id) as total_contacts,
        count(*) as total_messages,
        count(*) filter (where f.is_current) as current_total_messages
    from flagged as f
    group by f.tag_id, f.channel_id
)

select
    p.tag_id,
    t.name as tag_name,
    t.is_active::text as active,
    p.total_contacts,
    p.total_messages,
    p.current_total_messages,
    ch.medium,
    ch.name as channel,
    ch.display_name as channel_display_name
from per_tag_channel as p
left join inbox.tags as t
    on t.tag_id = p.tag_id
left join inbox.channels as ch
    on ch.channel_id = p.channel_id
order by t.name collate "C" nulls last, p.tag_id collate "C", p.channel_id collate "C";

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
