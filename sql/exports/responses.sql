-- export.responses (`responses`)
--
-- Grain: one row per response whose message M was created in R, in a conversation of the
-- selected channels. A response is a non-deleted human outbound message M that is the first
-- human outbound message of its conversation after one or more queue entries: with P the
-- conversation's previous non-deleted human outbound message (by created_at, then id), the
-- queue entries considered are those with P.created_at < queued_at <= M.created_at (any
-- queue entry at or before M when there is no P). M is a response when there is at least one;
-- it is paired with the earliest of them, Q (by queued_at, then id).
-- Order: To (M's created_at), then conversation id (then M's id).
--
-- Plan: messages.created_at range scan for the human outbound messages in R; P and Q are index
-- lookups on messages (conversation_id, created_at) and queue_entries (conversation_id,
-- queued_at).

create view export.responses as
with human_outbound_in_range as (
    select
        m.message_id,
        m.conversation_id,
        m.created_at,
        m.agent_id,
        a.name as agent_name,
        a.reference as agent_reference,
        c.channel_id,
        c.contact_id,
        c.url as conversation_url
    from inbox.messages as m
    inner join inbox.agents as a
        on a.agent_id = m.agent_id
       and a.kind = 'HUMAN'
    left join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    where m.created_at >= export.range_start()
      and m.created_at < export.range_end()
      and m.direction = 'OUTBOUND'
      and m.deleted_at is null
      and export.channel_selected(c.channel_id)
),

with_previous as (
    select
        h.*,
        prev.created_at as previous_reply_at
    from human_outbound_in_range as h
    left join lateral (
        select p.created_at
        from inbox.messages as p
        inner join inbox.agents as pa
            on pa.agent_id = p.agent_id
           and pa.kind = 'HUMAN'
        where p.conversation_id = h.conversation_id
          and p.direction = 'OUTBOUND'
          and p.deleted_at is null
          and p.created_at <= h.created_at
          and (p.created_at < h.created_at or p.message_id collate "C" < h.message_id collate "C")
        order by p.created_at desc, p.message_id collate "C" desc
        limit 1
    ) as prev on true
),

responses as (
    select
        w.*,
        q.started_by,
        q.handover_reason,
        q.queued_at,
        q.inbound_message_id
    from with_previous as w
    cross join lateral (
        select qe.started_by, qe.handover_reason, qe.queued_at, qe.inbound_message_id
        from inbox.queue_entries as qe
        where qe.conversation_id = w.conversation_id
          and qe.queued_at <= w.created_at
          and (w.previous_reply_at is null or qe.queued_at > w.previous_reply_at)
        order by qe.queued_at, qe.queue_entry_id collate "C"
        limit 1
    ) as q
)

select
    r.conversation_id,
    ch.medium,
    ch.name as sender_channel,
    ch.display_name as sender_channel_full_name,
    r.contact_id as contact_profile_id,
    r.started_by,
    case when r.started_by = 'VA_HANDED_OVER_CONVERSATION' then r.handover_reason end as handover_reason,
    export.format_timestamp(r.queued_at) as from_at,
    export.format_timestamp(r.created_at) as to_at,
    export.round_seconds(export.seconds_between(r.queued_at, r.created_at)) as agent_response_time,
    r.agent_id as responding_agent_id,
    r.agent_name as responding_agent_name,
    r.agent_reference as responding_agent_reference,
    r.inbound_message_id,
    r.message_id as outbound_message_id,
    r.conversation_url
from responses as r
left join inbox.channels as ch
    on ch.channel_id = r.channel_id
order by r.created_at, r.conversation_id collate "C", r.message_id collate "C";

comment on view export.responses is
'responses: one row per response (the first non-deleted human outbound message M after one or more queue entries, paired with the earliest of them, Q) whose M lies in R. Order: To, then conversation id.';
comment on column export.responses.conversation_id is 'Conversation ID.';
comment on column export.responses.medium is 'Medium: channel''s medium.';
comment on column export.responses.sender_channel is 'Sender Channel: channel''s name.';
comment on column export.responses.sender_channel_full_name is 'Sender Channel Full Name: channel''s display name.';
comment on column export.responses.contact_profile_id is 'Contact Profile ID.';
comment on column export.responses.started_by is 'Started By: Q''s started_by.';
comment on column export.responses.handover_reason is 'Handover Reason: Q''s handover_reason when started_by is VA_HANDED_OVER_CONVERSATION, else empty.';
comment on column export.responses.from_at is 'From: Q''s time.';
comment on column export.responses.to_at is 'To: M''s created_at.';
comment on column export.responses.agent_response_time is 'Agent Response Time (s): To - From.';
comment on column export.responses.responding_agent_id is 'Responding Agent ID: M''s agent.';
comment on column export.responses.responding_agent_name is 'Responding Agent Name.';
comment on column export.responses.responding_agent_reference is 'Responding Agent Reference.';
comment on column export.responses.inbound_message_id is 'Inbound Message ID: Q''s inbound_message_id.';
comment on column export.responses.outbound_message_id is 'Outbound Message ID: M''s id.';
comment on column export.responses.conversation_url is 'Conversation URL.';
