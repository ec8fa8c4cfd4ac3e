-- facts.outbound_messages
--
-- Grain: one row per non-deleted OUTBOUND message. Materialized as a view (it only filters the
-- loaded messages and names their author's kind): the one definition of "the outbound messages"
-- that replies, contacts helped, team and virtual-agent scopes and lock classes count.
--   author_kind  the author agent's kind (HUMAN: a *human outbound* message; VIRTUAL: a
--                *virtual-agent outbound* one); null when the message has no agent or the agent
--                is not loaded.
--   channel_id, contact_id  the conversation's; null when the conversation is not loaded.

create view facts.outbound_messages as
select
    m.message_id,
    m.conversation_id,
    m.created_at,
    m.agent_id,
    a.kind as author_kind,
    m.team_id,
    c.channel_id,
    c.contact_id
from inbox.messages as m
left join inbox.agents as a
    on a.agent_id = m.agent_id
left join inbox.conversations as c
    on c.conversation_id = m.conversation_id
where m.direction = 'OUTBOUND'
  and m.deleted_at is null;

comment on view facts.outbound_messages is
'One row per non-deleted outbound message, with its author''s kind (HUMAN / VIRTUAL, null if unknown) and its conversation''s channel and contact.';
comment on column facts.outbound_messages.author_kind is 'Kind of the author agent (HUMAN, VIRTUAL); null when the message has no agent or the agent is not loaded.';
comment on column facts.outbound_messages.channel_id is 'The conversation''s channel; null when the conversation is not loaded.';
comment on column facts.outbound_messages.contact_id is 'The conversation''s contact; null when the conversation is not loaded.';
