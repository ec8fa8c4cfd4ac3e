-- facts.human_replies (table, kept by the loader)
--
-- Grain: one row per human outbound message (a non-deleted OUTBOUND message whose author is an
-- agent of kind HUMAN; facts.outbound_messages), with its pending reference: the responses rule
-- of exports.md. With P the conversation's previous human reply (by created_at, then id), the
-- queue entries pending at the reply are those with P.created_at < queued_at <= created_at (any
-- queue entry at or before it when there is no P). The reply is a *response* when there is at
-- least one; it is paired with the earliest, Q (by queued_at, then id).
-- Depends on: messages, agents (kind), conversations (channel, contact) and queue entries of the
-- conversation; refreshed per conversation.

create table facts.human_replies (
    message_id              text primary key,
    conversation_id         text not null,
    created_at              timestamptz not null,
    agent_id                text not null,
    team_id                 text,
    channel_id              text,
    contact_id              text,
    previous_reply_at       timestamptz,
    response_queue_entry_id text,
    response_queued_at      timestamptz
);
create index human_replies_created_at_idx on facts.human_replies (created_at);
create index human_replies_conversation_id_idx on facts.human_replies (conversation_id, created_at);

comment on table facts.human_replies is
'One row per non-deleted human outbound message, with the previous human reply of its conversation and, when it is a response, the queue entry Q it answers.';
comment on column facts.human_replies.channel_id is 'The conversation''s channel; null when the conversation is not loaded.';
comment on column facts.human_replies.contact_id is 'The conversation''s contact; null when the conversation is not loaded.';
comment on column facts.human_replies.previous_reply_at is 'created_at of the conversation''s previous human reply (by created_at, then id); null for the first.';
comment on column facts.human_replies.response_queue_entry_id is 'Q: the earliest queue entry pending at this reply (queued after the previous reply, at or before this one); null when the reply is not a response.';
comment on column facts.human_replies.response_queued_at is 'Q''s queued_at.';

-- The rows of the given conversations.
create function facts.compute_human_replies(conversation_ids text[])
returns setof facts.human_replies
language sql stable
as $$
    with requested as (
        select distinct k.conversation_id
        from unnest(conversation_ids) as k(conversation_id)
    ),

    replies as (
        select
            o.message_id,
            o.conversation_id,
            o.created_at,
            o.agent_id,
            o.team_id,
            o.channel_id,
            o.contact_id,
            lag(o.created_at) over (
                partition by o.conversation_id order by o.created_at, o.message_id collate "C"
            ) as previous_reply_at
        from requested as k
        inner join facts.outbound_messages as o
            on o.conversation_id = k.conversation_id
        where o.author_kind = 'HUMAN'
    )

    select
        r.message_id,
        r.conversation_id,
        r.created_at,
        r.agent_id,
        r.team_id,
        r.channel_id,
        r.contact_id,
        r.previous_reply_at,
        q.queue_entry_id,
        q.queued_at
    from replies as r
    left join lateral (
        select qe.queue_entry_id, qe.queued_at
        from inbox.queue_entries as qe
        where qe.conversation_id = r.conversation_id
          and qe.queued_at <= r.created_at
          and (r.previous_reply_at is null or qe.queued_at > r.previous_reply_at)
        order by qe.queued_at, qe.queue_entry_id collate "C"
        limit 1
    ) as q on true
$$;
comment on function facts.compute_human_replies(text[]) is
'The facts.human_replies rows of the given conversations, computed from the loaded tables.';
