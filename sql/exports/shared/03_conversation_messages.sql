-- per-conversation message facts (exports.md, "Shared definitions").
--
-- Every function here is a STABLE, non-strict `language sql` set-returning function with a single
-- query, so PostgreSQL inlines it when it is called in a LATERAL join: it then becomes an index
-- lookup on messages (conversation_id, created_at) for just the conversations an export lists.
-- Deleted messages are left out of every fact here. Ids break ties in C collation.

-- first inbound: the earliest non-deleted INBOUND message (by created_at, then id).
create function export.first_inbound(target_conversation_id text)
returns table (message_id text, created_at timestamptz)
language sql stable parallel safe
as $$
    select m.message_id, m.created_at
    from inbox.messages as m
    where m.conversation_id = target_conversation_id
      and m.direction = 'INBOUND'
      and m.deleted_at is null
    order by m.created_at, m.message_id collate "C"
    limit 1
$$;
comment on function export.first_inbound(text) is
'First inbound message of a conversation: its earliest non-deleted INBOUND message (by created_at, then id); no row if none.';

-- counts of non-deleted messages per direction, over the conversation's whole history.
create function export.message_counts(target_conversation_id text)
returns table (inbound_message_count bigint, outbound_message_count bigint)
language sql stable parallel safe
as $$
    select
        count(*) filter (where m.direction = 'INBOUND') as inbound_message_count,
        count(*) filter (where m.direction = 'OUTBOUND') as outbound_message_count
    from inbox.messages as m
    where m.conversation_id = target_conversation_id
      and m.deleted_at is null
$$;
comment on function export.message_counts(text) is
'Non-deleted inbound and outbound message counts of a conversation (whole history); always one row.';

-- response reference and first response.
--   response reference: the earliest VA_HANDED_OVER_CONVERSATION queue entry if any, else the first
--   inbound message's time; first response: the earliest non-deleted human outbound message at or
--   after it (by created_at, then id); First Response Time: first response - reference.
create function export.first_response(target_conversation_id text)
returns table (
    response_reference_at  timestamptz,
    message_id             text,
    created_at             timestamptz,
    agent_id               text,
    team_id                text,
    first_response_seconds numeric
)
language sql stable parallel safe
as $$
    with handover as (
        select min(q.queued_at) as queued_at
        from inbox.queue_entries as q
        where q.conversation_id = target_conversation_id
          and q.started_by = 'VA_HANDED_OVER_CONVERSATION'
    ),

    reference as (
        select coalesce(
            (select h.queued_at from handover as h),
            (select fi.created_at from export.first_inbound(target_conversation_id) as fi)
        ) as response_reference_at
    )

    select
        r.response_reference_at,
        fr.message_id,
        fr.created_at,
        fr.agent_id,
        fr.team_id,
        export.seconds_between(r.response_reference_at, fr.created_at) as first_response_seconds
    from reference as r
    left join lateral (
        select m.message_id, m.created_at, m.agent_id, m.team_id
        from inbox.messages as m
        inner join inbox.agents as a
            on a.agent_id = m.agent_id
           and a.kind = 'HUMAN'
        where m.conversation_id = target_conversation_id
          and m.direction = 'OUTBOUND'
          and m.deleted_at is null
          and m.created_at >= r.response_reference_at
        order by m.created_at, m.message_id collate "C"
        limit 1
    ) as fr on true
$$;
comment on function export.first_response(text) is
'Response reference (earliest VA handover queue entry, else first inbound), first response (earliest non-deleted human '
'outbound message at or after it) and First Response Time in exact seconds; always one row, null columns when missing.';

-- whether the conversation had a non-deleted human outbound message at or before a moment
-- ("Resolves With Reply" / "Resolves Without Reply").
create function export.human_reply_at_or_before(target_conversation_id text, moment timestamptz)
returns table (has_human_reply boolean)
language sql stable parallel safe
as $$
    select exists (
        select 1
        from inbox.messages as m
        inner join inbox.agents as a
            on a.agent_id = m.agent_id
           and a.kind = 'HUMAN'
        where m.conversation_id = target_conversation_id
          and m.direction = 'OUTBOUND'
          and m.deleted_at is null
          and m.created_at <= moment
    ) as has_human_reply
$$;
comment on function export.human_reply_at_or_before(text, timestamptz) is
'True when the conversation has at least one non-deleted human outbound message created at or before moment; always one row.';
