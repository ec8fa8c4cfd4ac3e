-- facts.tag_applications
--
-- Grain: one row per tag application that counts: every application (removed ones included)
-- except those on a deleted message, which are left out of every count (exports.md, "Precise
-- readings"; the messages export still lists them, from facts.message_tags). With the message's
-- conversation and that conversation's channel and contact (null when not loaded).
-- Materialized as a view.

create view facts.tag_applications as
select
    ta.tag_application_id,
    ta.message_id,
    ta.tag_id,
    ta.applied_at,
    ta.agent_id,
    ta.team_id,
    m.conversation_id,
    c.channel_id,
    c.contact_id
from inbox.tag_applications as ta
left join inbox.messages as m
    on m.message_id = ta.message_id
left join inbox.conversations as c
    on c.conversation_id = m.conversation_id
where m.deleted_at is null;

comment on view facts.tag_applications is
'One row per tag application not on a deleted message, with the message''s conversation, channel and contact (null when not loaded).';
