-- facts.conversations (table, kept by the loader)
--
-- Grain: one row per conversation id that any loaded record refers to (a conversation, message,
-- status change, queue entry, lock, topic application or survey), loaded or not. The
-- per-conversation definitions of exports.md ("Shared definitions"), stored once:
--   * T-independent facts: message counts, first inbound, response reference, first response,
--     First Response Time, first human reply, first resolution, Resolution Time, last status
--     change, latest survey;
--   * facts read at T, stored as they stand once nothing more changes (T = infinity), with the
--     instant from which that holds: latest status (latest_status_changed_at), latest resolution
--     (latest_resolved_at), lock times (closed sessions only; has_ongoing_lock), current topics
--     (topics_changed_at), Last Updated (last_updated_at).
-- facts.conversations_as_of(T) reads them at T: the stored value when T is at or after that
-- instant, else the defining function at T for just that conversation.
-- Depends on every per-conversation table, agents' kind (through facts.human_replies) and topic
-- names (topic_names); refreshed per conversation after the facts it reads
-- (human_replies, lock_sessions, conversation_topics).

create table facts.conversations (
    conversation_id             text primary key,
    channel_id                  text,
    contact_id                  text,
    inbound_message_count       bigint not null,
    outbound_message_count      bigint not null,
    first_inbound_at            timestamptz,
    response_reference_at       timestamptz,
    first_response_message_id   text,
    first_response_at           timestamptz,
    first_response_team_id      text,
    first_response_seconds      numeric,
    first_human_reply_at        timestamptz,
    first_resolution_id         text,
    first_resolved_at           timestamptz,
    resolution_seconds          numeric,
    last_status_change_agent_id text,
    last_status_change_team_id  text,
    latest_status               text,
    latest_status_changed_at    timestamptz,
    latest_resolution_id        text,
    latest_resolved_at          timestamptz,
    handling_seconds            numeric not null,
    no_reply_seconds            numeric not null,
    cherry_picking_seconds      numeric not null,
    has_ongoing_lock            boolean not null,
    topic_ids                   text[],
    topic_names                 text[],
    topics_changed_at           timestamptz,
    latest_survey_id            text,
    last_updated_at             timestamptz
);
create index conversations_first_resolved_at_idx on facts.conversations (first_resolved_at);
create index conversations_first_response_at_idx on facts.conversations (first_response_at);

comment on table facts.conversations is
'One row per conversation id referred to by any loaded record: the per-conversation definitions of exports.md, stored once (T-dependent ones as they stand at T = infinity, with the instant from which that holds).';
comment on column facts.conversations.channel_id is 'The conversation''s channel; null when the conversation record is not loaded.';
comment on column facts.conversations.contact_id is 'The conversation''s contact; null when the conversation record is not loaded.';
comment on column facts.conversations.inbound_message_count is 'Non-deleted inbound messages (whole history).';
comment on column facts.conversations.outbound_message_count is 'Non-deleted outbound messages (whole history).';
comment on column facts.conversations.first_inbound_at is 'First inbound: the earliest non-deleted INBOUND message''s created_at.';
comment on column facts.conversations.response_reference_at is 'Response reference: the earliest VA_HANDED_OVER_CONVERSATION queue entry, else the first inbound.';
comment on column facts.conversations.first_response_message_id is 'First response: the earliest human reply at or after the response reference (by created_at, then id).';
comment on column facts.conversations.first_response_at is 'First response''s created_at.';
comment on column facts.conversations.first_response_team_id is 'First response''s team_id.';
comment on column facts.conversations.first_response_seconds is 'First Response Time in exact seconds: first response - response reference; null if either is missing.';
comment on column facts.conversations.first_human_reply_at is 'The earliest human reply''s created_at ("with reply" tests).';
comment on column facts.conversations.first_resolution_id is 'First resolution: the earliest RESOLVED status change (by changed_at, then id).';
comment on column facts.conversations.first_resolved_at is 'First resolution''s changed_at.';
comment on column facts.conversations.resolution_seconds is 'Resolution Time in exact seconds: first resolution - first inbound; null if either is missing or if negative.';
comment on column facts.conversations.last_status_change_agent_id is 'Agent of the last status change (the latest change to PENDING or RESOLVED, whole history).';
comment on column facts.conversations.last_status_change_team_id is 'Team of the last status change.';
comment on column facts.conversations.latest_status is 'Status of the latest status change (the current status at any T at or after latest_status_changed_at); null if none.';
comment on column facts.conversations.latest_resolution_id is 'The latest RESOLVED status change (the latest resolution at any T at or after latest_resolved_at).';
comment on column facts.conversations.handling_seconds is 'Handling lock time of the closed lock sessions (the lock times at any T when has_ongoing_lock is false).';
comment on column facts.conversations.has_ongoing_lock is 'Whether a lock of the conversation is still held (its lock times then depend on T).';
comment on column facts.conversations.topic_ids is 'Current topics once every application and removal has happened (at any T at or after topics_changed_at), in cell order.';
comment on column facts.conversations.topics_changed_at is 'The latest topic application or removal of the conversation.';
comment on column facts.conversations.latest_survey_id is 'Latest survey: the CSAT survey with the latest sent_at (then id).';
comment on column facts.conversations.last_updated_at is 'The latest timestamp of any record about the conversation (Last Updated at any T at or after it).';

-- The rows of the given conversations, from the
-- loaded tables and the facts they depend on (human_replies, lock_sessions, conversation_topics,
-- which must be current for those conversations).
create function facts.compute_conversations(conversation_ids text[])
returns setof facts.conversations
language sql stable
as $$
    with requested as (
        select distinct k.conversation_id
        from unnest(conversation_ids) as k(conversation_id)
    ),

    message_facts as (
        select
            m.conversation_id,
            count(*) filter (where m.deleted_at is null and m.direction = 'INBOUND') as inbound_message_count,
            count(*) filter (where m.deleted_at is null and m.direction = 'OUTBOUND') as outbound_message_count,
            min(m.created_at) filter (where m.deleted_at is null and m.direction = 'INBOUND') as first_inbound_at
        from requested as k
        inner join inbox.messages as m
            on m.conversation_id = k.conversation_id
        group by m.conversation_id
    ),

    queue_facts as (
        select
            q.conversation_id,
            min(q.queued_at) filter (where q.started_by = 'VA_HANDED_OVER_CONVERSATION') as handover_at
        from requested as k
        inner join inbox.queue_entries as q
            on q.conversation_id = k.conversation_id
        group by q.conversation_id
    ),

    human_reply_facts as (
        select hr.conversation_id, min(hr.created_at) as first_human_reply_at
        from requested as k
        inner join facts.human_replies as hr
            on hr.conversation_id = k.conversation_id
        group by hr.conversation_id
    ),

    status_facts as (
        select
            s.conversation_id,
            (array_agg(s.status_change_id order by s.changed_at, s.status_change_id collate "C")
                filter (where s.status = 'RESOLVED'))[1] as first_resolution_id,
            min(s.changed_at) filter (where s.status = 'RESOLVED') as first_resolved_at,
            (array_agg(s.agent_id order by s.changed_at desc, s.status_change_id collate "C" desc)
                filter (where s.status in ('PENDING', 'RESOLVED')))[1] as last_status_change_agent_id,
            (array_agg(s.team_id order by s.changed_at desc, s.status_change_id collate "C" desc)
                filter (where s.status in ('PENDING', 'RESOLVED')))[1] as last_status_change_team_id
        from requested as k
        inner join inbox.status_changes as s
            on s.conversation_id = k.conversation_id
        group by s.conversation_id
    ),

    topic_changes as (
        select ct.conversation_id, max(ct.last_changed_at) as topics_changed_at
        from requested as k
        inner join facts.conversation_topics as ct
            on ct.conversation_id = k.conversation_id
        group by ct.conversation_id
    ),

    latest_surveys as (
        select distinct on (cs.conversation_id) cs.conversation_id, cs.survey_id
        from requested as k
        inner join inbox.csat_surveys as cs
            on cs.conversation_id = k.conversation_id
        order by cs.conversation_id, cs.sent_at desc, cs.survey_id collate "C" desc
    ),

    -- the facts read at T, at T = infinity (closed lock sessions only: has_ongoing_lock)
    latest_statuses as (
        select st.*
        from facts.conversation_statuses('infinity') as st
        where st.conversation_id = any (conversation_ids)
    ),

    lock_times as (
        select lt.*
        from facts.conversation_lock_times(null) as lt
        where lt.conversation_id = any (conversation_ids)
    ),

    topic_cells as (
        select tc.*
        from facts.topic_cells('infinity') as tc
        where tc.conversation_id = any (conversation_ids)
    ),

    last_updates as (
        select lu.*
        from facts.conversation_last_updated('infinity') as lu
        where lu.conversation_id = any (conversation_ids)
    ),

    references_ as (
        select
            k.conversation_id,
            mf.inbound_message_count,
            mf.outbound_message_count,
            mf.first_inbound_at,
            coalesce(qf.handover_at, mf.first_inbound_at) as response_reference_at
        from requested as k
        left join message_facts as mf
            on mf.conversation_id = k.conversation_id
        left join queue_facts as qf
            on qf.conversation_id = k.conversation_id
    ),

    first_responses as (
        select distinct on (r.conversation_id)
            r.conversation_id,
            hr.message_id,
            hr.created_at,
            hr.team_id
        from references_ as r
        inner join facts.human_replies as hr
            on hr.conversation_id = r.conversation_id
           and hr.created_at >= r.response_reference_at
        order by r.conversation_id, hr.created_at, hr.message_id collate "C"
    )

    select
        r.conversation_id,
        c.channel_id,
        c.contact_id,
        coalesce(r.inbound_message_count, 0),
        coalesce(r.outbound_message_count, 0),
        r.first_inbound_at,
        r.response_reference_at,
        fr.message_id,
        fr.created_at,
        fr.team_id,
        facts.seconds_between(r.response_reference_at, fr.created_at),
        fh.first_human_reply_at,
        sf.first_resolution_id,
        sf.first_resolved_at,
        case when facts.seconds_between(r.first_inbound_at, sf.first_resolved_at) >= 0
             then facts.seconds_between(r.first_inbound_at, sf.first_resolved_at) end,
        sf.last_status_change_agent_id,
        sf.last_status_change_team_id,
        ls.status,
        ls.status_changed_at,
        ls.latest_resolution_id,
        ls.latest_resolved_at,
        coalesce(lt.handling_seconds, 0),
        coalesce(lt.no_reply_seconds, 0),
        coalesce(lt.cherry_picking_seconds, 0),
        coalesce(lt.has_ongoing_lock, false),
        tc.topic_ids,
        tc.topic_names,
        tch.topics_changed_at,
        sv.survey_id,
        lu.last_updated_at
    from references_ as r
    left join inbox.conversations as c
        on c.conversation_id = r.conversation_id
    left join first_responses as fr
        on fr.conversation_id = r.conversation_id
    left join human_reply_facts as fh
        on fh.conversation_id = r.conversation_id
    left join status_facts as sf
        on sf.conversation_id = r.conversation_id
    left join latest_statuses as ls
        on ls.conversation_id = r.conversation_id
    left join lock_times as lt
        on lt.conversation_id = r.conversation_id
    left join topic_cells as tc
        on tc.conversation_id = r.conversation_id
    left join topic_changes as tch
        on tch.conversation_id = r.conversation_id
    left join latest_surveys as sv
        on sv.conversation_id = r.conversation_id
    left join last_updates as lu
        on lu.conversation_id = r.conversation_id
    left join queue_facts as qf
        on qf.conversation_id = r.conversation_id
    -- a conversation id is kept while any record refers to it (the grain)
    where c.conversation_id is not null
       or r.inbound_message_count is not null
       or qf.conversation_id is not null
       or sf.conversation_id is not null
       or lt.conversation_id is not null
       or tch.conversation_id is not null
       or sv.conversation_id is not null
$$;
comment on function facts.compute_conversations(text[]) is
'The facts.conversations rows of the given conversations, from the loaded tables and the current human_replies, lock_sessions and conversation_topics.';

-- Every conversation's facts read at T: the stored values, and the T-dependent ones (current
-- status, latest resolution at or before T, lock times, current topics, Last Updated) taken from
-- the store when T is at or after the instant from which they hold, else computed at T for just
-- that conversation by their defining function. (`limit 1`: each lateral yields at most one row
-- anyway; it keeps the planner from flattening the lateral into a join with the defining
-- function over every conversation, so the function runs only for the rows whose gate is open.)
create function facts.conversations_as_of(as_of timestamptz)
returns table (
    conversation_id             text,
    channel_id                  text,
    contact_id                  text,
    inbound_message_count       bigint,
    outbound_message_count      bigint,
    first_inbound_at            timestamptz,
    response_reference_at       timestamptz,
    first_response_message_id   text,
    first_response_at           timestamptz,
    first_response_team_id      text,
    first_response_seconds      numeric,
    first_human_reply_at        timestamptz,
    first_resolution_id         text,
    first_resolved_at           timestamptz,
    resolution_seconds          numeric,
    last_status_change_agent_id text,
    last_status_change_team_id  text,
    current_status              text,
    latest_resolution_id        text,
    handling_seconds            numeric,
    no_reply_seconds            numeric,
    cherry_picking_seconds      numeric,
    topic_ids                   text[],
    topic_names                 text[],
    latest_survey_id            text,
    last_updated_at             timestamptz
)
language sql stable parallel safe
as $$
    select
        fc.conversation_id,
        fc.channel_id,
        fc.contact_id,
        fc.inbound_message_count,
        fc.outbound_message_count,
        fc.first_inbound_at,
        fc.response_reference_at,
        fc.first_response_message_id,
        fc.first_response_at,
        fc.first_response_team_id,
        fc.first_response_seconds,
        fc.first_human_reply_at,
        fc.first_resolution_id,
        fc.first_resolved_at,
        fc.resolution_seconds,
        fc.last_status_change_agent_id,
        fc.last_status_change_team_id,
        coalesce(case when fc.latest_status_changed_at <= as_of then fc.latest_status else st.status end, 'NEW'),
        case when fc.latest_status_changed_at <= as_of then fc.latest_resolution_id else st.latest_resolution_id end,
        case when fc.has_ongoing_lock then lt.handling_seconds else fc.handling_seconds end,
        case when fc.has_ongoing_lock then lt.no_reply_seconds else fc.no_reply_seconds end,
        case when fc.has_ongoing_lock then lt.cherry_picking_seconds else fc.cherry_picking_seconds end,
        case when fc.topics_changed_at <= as_of then fc.topic_ids else tc.topic_ids end,
        case when fc.topics_changed_at <= as_of then fc.topic_names else tc.topic_names end,
        fc.latest_survey_id,
        case when fc.last_updated_at <= as_of then fc.last_updated_at else lu.last_updated_at end
    from facts.conversations as fc
    left join lateral (
        select s.status, s.latest_resolution_id
        from facts.conversation_statuses(as_of) as s
        where s.conversation_id = fc.conversation_id
          and fc.latest_status_changed_at > as_of
        limit 1
    ) as st on true
    left join lateral (
        select l.handling_seconds, l.no_reply_seconds, l.cherry_picking_seconds
        from facts.conversation_lock_times(as_of) as l
        where l.conversation_id = fc.conversation_id
          and fc.has_ongoing_lock
        limit 1
    ) as lt on true
    left join lateral (
        select t.topic_ids, t.topic_names
        from facts.topic_cells(as_of) as t
        where t.conversation_id = fc.conversation_id
          and fc.topics_changed_at > as_of
        limit 1
    ) as tc on true
    left join lateral (
        select u.last_updated_at
        from facts.conversation_last_updated(as_of) as u
        where u.conversation_id = fc.conversation_id
          and fc.last_updated_at > as_of
        limit 1
    ) as lu on true
$$;
comment on function facts.conversations_as_of(timestamptz) is
'Every conversation''s facts read at T: current status (NEW if no change at or before T), latest resolution at or before T, lock times (ongoing sessions run to T), current topics and Last Updated at T.';
