-- facts.conversations (table, kept by the loader)
--
-- Grain: one row per conversation id that any loaded record refers to (a conversation, message,
-- status change, queue entry, lock, topic application or survey), loaded or not. The
-- per-conversation definitions of exports.md ("Shared definitions"), stored once:
--   * T-independent facts: message counts, first inbound, response reference, first response,
--     First Response Time (in the channel's business hours, and in calendar time beside it:
--     business-hours.md), first human reply, first resolution, Resolution Time, last status
--     change, latest survey;
--   * facts read at T, stored as they stand once nothing more changes (T = infinity), with the
--     instant from which that holds: latest status (latest_status_changed_at), latest resolution
--     (latest_resolved_at), lock times (closed sessions only; has_ongoing_lock), current topics
--     (topics_changed_at), Last Updated (last_updated_at).
-- facts.conversations_as_of(T) reads them at T: the stored value when T is at or after that
-- instant, else the defining function at T for just that conversation.
-- Depends on every per-conversation table, agents' kind (through facts.human_replies), topic
-- names (topic_names) and the channel's business hours (facts.business_calendar); refreshed per
-- conversation after the facts it reads (human_replies, lock_sessions, conversation_topics, the
-- calendars of its channel).

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
    first_response_calendar_seconds numeric,
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
-- the conversations a schedule governs (a business_hours record touches them)
create index conversations_channel_id_response_reference_at_idx on facts.conversations (channel_id, response_reference_at);

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
comment on column facts.conversations.first_response_seconds is 'First Response Time in exact seconds: the business seconds (facts.business_seconds) of the conversation''s channel from the response reference to the first response; null if either is missing.';
comment on column facts.conversations.first_response_calendar_seconds is 'First Response Time in calendar time: first response - response reference, in exact seconds; null if either is missing.';
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

-- The rows of the given conversations, from the loaded tables and the facts they depend on
-- (human_replies, lock_sessions, conversation_topics, which must be current for those
-- conversations). Every part is a lateral subquery on one conversation, read through the index on
-- its conversation_id: the cost follows the number of conversations asked for, not the size of
-- the tables (a set-based form was planned as hash joins over whole tables, which made a batch's
-- refresh grow with the warehouse). The T-dependent facts are read at T = infinity from their
-- defining functions, filtered to the one conversation (the same form as
-- facts.conversations_as_of).
create function facts.compute_conversations(conversation_ids text[])
returns setof facts.conversations
language sql stable
as $$
    select
        k.conversation_id,
        c.channel_id,
        c.contact_id,
        mf.inbound_message_count,
        mf.outbound_message_count,
        mf.first_inbound_at,
        rr.response_reference_at,
        fr.message_id,
        fr.created_at,
        fr.team_id,
        bs.business_seconds,
        facts.seconds_between(rr.response_reference_at, fr.created_at),
        fh.first_human_reply_at,
        sf.first_resolution_id,
        sf.first_resolved_at,
        case when facts.seconds_between(mf.first_inbound_at, sf.first_resolved_at) >= 0
             then facts.seconds_between(mf.first_inbound_at, sf.first_resolved_at) end,
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
    from (select distinct u.conversation_id from unnest(conversation_ids) as u(conversation_id)) as k
    left join lateral (
        select c.conversation_id, c.channel_id, c.contact_id
        from inbox.conversations as c
        where c.conversation_id = k.conversation_id
        offset 0
    ) as c on true
    cross join lateral (
        select
            count(*) as message_count,
            count(*) filter (where m.deleted_at is null and m.direction = 'INBOUND') as inbound_message_count,
            count(*) filter (where m.deleted_at is null and m.direction = 'OUTBOUND') as outbound_message_count,
            min(m.created_at) filter (where m.deleted_at is null and m.direction = 'INBOUND') as first_inbound_at
        from inbox.messages as m
        where m.conversation_id = k.conversation_id
    ) as mf
    cross join lateral (
        select
            count(*) as queue_entry_count,
            min(q.queued_at) filter (where q.started_by = 'VA_HANDED_OVER_CONVERSATION') as handover_at
        from inbox.queue_entries as q
        where q.conversation_id = k.conversation_id
    ) as qf
    cross join lateral (select coalesce(qf.handover_at, mf.first_inbound_at) as response_reference_at) as rr
    left join lateral (
        select hr.message_id, hr.created_at, hr.team_id
        from facts.human_replies as hr
        where hr.conversation_id = k.conversation_id
          and hr.created_at >= rr.response_reference_at
        order by hr.created_at, hr.message_id collate "C"
        limit 1
    ) as fr on true
    left join lateral facts.business_seconds(c.channel_id, rr.response_reference_at, fr.created_at) as bs
        on true
    cross join lateral (
        select min(hr.created_at) as first_human_reply_at
        from facts.human_replies as hr
        where hr.conversation_id = k.conversation_id
    ) as fh
    cross join lateral (
        select
            count(*) as status_change_count,
            (array_agg(s.status_change_id order by s.changed_at, s.status_change_id collate "C")
                filter (where s.status = 'RESOLVED'))[1] as first_resolution_id,
            min(s.changed_at) filter (where s.status = 'RESOLVED') as first_resolved_at,
            (array_agg(s.agent_id order by s.changed_at desc, s.status_change_id collate "C" desc)
                filter (where s.status in ('PENDING', 'RESOLVED')))[1] as last_status_change_agent_id,
            (array_agg(s.team_id order by s.changed_at desc, s.status_change_id collate "C" desc)
                filter (where s.status in ('PENDING', 'RESOLVED')))[1] as last_status_change_team_id
        from inbox.status_changes as s
        where s.conversation_id = k.conversation_id
    ) as sf
    left join lateral (
        select st.status, st.status_changed_at, st.latest_resolution_id, st.latest_resolved_at
        from facts.conversation_statuses('infinity') as st
        where st.conversation_id = k.conversation_id
        limit 1
    ) as ls on true
    left join lateral (
        select lt.conversation_id, lt.handling_seconds, lt.no_reply_seconds, lt.cherry_picking_seconds, lt.has_ongoing_lock
        from facts.conversation_lock_times(null) as lt
        where lt.conversation_id = k.conversation_id
        limit 1
    ) as lt on true
    left join lateral (
        select tc.topic_ids, tc.topic_names
        from facts.topic_cells('infinity') as tc
        where tc.conversation_id = k.conversation_id
        limit 1
    ) as tc on true
    cross join lateral (
        select count(*) as topic_count, max(ct.last_changed_at) as topics_changed_at
        from facts.conversation_topics as ct
        where ct.conversation_id = k.conversation_id
    ) as tch
    left join lateral (
        select cs.survey_id
        from inbox.csat_surveys as cs
        where cs.conversation_id = k.conversation_id
        order by cs.sent_at desc, cs.survey_id collate "C" desc
        limit 1
    ) as sv on true
    left join lateral (
        select lu.last_updated_at
        from facts.conversation_last_updated('infinity') as lu
        where lu.conversation_id = k.conversation_id
        limit 1
    ) as lu on true
    -- a conversation id is kept while any record refers to it (the grain)
    where c.conversation_id is not null
       or mf.message_count > 0
       or qf.queue_entry_count > 0
       or sf.status_change_count > 0
       or lt.conversation_id is not null
       or tch.topic_count > 0
       or sv.survey_id is not null
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
    first_response_calendar_seconds numeric,
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
        fc.first_response_calendar_seconds,
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
