-- export.resolved_conversations (`resolved-conversations`)
--
-- Grain: one row per loaded conversation whose FIRST resolution (earliest RESOLVED status change,
-- by changed_at then id) lies in R, in the selected channels; data as of T.
-- Order: first resolution time, then conversation id.
--
-- Plan (set-based): an index range scan of status_changes.changed_at over R keeps the RESOLVED
-- changes with no earlier RESOLVED change of their conversation (anti join). Every
-- per-conversation figure is then one GROUP BY over the scoped conversations' rows of one table
-- (messages, queue entries, status changes, locks, topic applications, surveys), joined back
-- by conversation id; no per-conversation function call. The definitions are those of the
-- helpers in sql/exports/shared/ (first_inbound, message_counts, first_response, lock_times,
-- current_status, last_status_change, current_topics, latest_survey, last_updated_at); keep
-- them in step. Aggregates group by the scoped CTE's column so that the row estimates stay
-- one row per conversation.

create view export.resolved_conversations as
with resolved_in_range as (
    select s.*
    from inbox.status_changes as s
    where s.changed_at >= export.range_start()
      and s.changed_at < export.range_end()
      and s.status = 'RESOLVED'
),

-- a RESOLVED change in R is its conversation's first resolution when no RESOLVED change of the
-- conversation comes before it (by changed_at, then id).
scoped as materialized (
    select
        fr.conversation_id,
        fr.status_change_id as resolution_id,
        fr.changed_at as resolved_at,
        fr.agent_id as resolved_agent_id,
        fr.resolved_by,
        fr.resolution_reason,
        fr.resolution_comment,
        fr.resolve_trigger,
        c.channel_id,
        c.contact_id,
        c.created_at as conversation_created_at,
        c.updated_at as conversation_updated_at,
        c.url,
        c.language,
        c.sentiment
    from resolved_in_range as fr
    inner join inbox.conversations as c
        on c.conversation_id = fr.conversation_id
    where export.channel_selected(c.channel_id)
      and not exists (
          select 1
          from inbox.status_changes as e
          where e.conversation_id = fr.conversation_id
            and e.status = 'RESOLVED'
            and e.changed_at <= fr.changed_at
            and (e.changed_at < fr.changed_at or e.status_change_id collate "C" < fr.status_change_id collate "C")
      )
),

message_facts as (
    select
        sc.conversation_id,
        count(*) filter (where m.direction = 'INBOUND' and m.deleted_at is null) as inbound_message_count,
        count(*) filter (where m.direction = 'OUTBOUND' and m.deleted_at is null) as outbound_message_count,
        min(m.created_at) filter (where m.direction = 'INBOUND' and m.deleted_at is null) as first_inbound_at,
        greatest(
            max(m.created_at) filter (where m.created_at <= export.as_of()),
            max(m.updated_at) filter (where m.updated_at <= export.as_of()),
            max(m.deleted_at) filter (where m.deleted_at <= export.as_of())
        ) as last_updated_at
    from scoped as sc
    inner join inbox.messages as m
        on m.conversation_id = sc.conversation_id
    group by sc.conversation_id
),

handovers as (
    select sc.conversation_id, min(q.queued_at) as handover_at
    from scoped as sc
    inner join inbox.queue_entries as q
        on q.conversation_id = sc.conversation_id
    where q.started_by = 'VA_HANDED_OVER_CONVERSATION'
    group by sc.conversation_id
),

-- one row per scoped conversation: the scoped columns, its message facts and its response
-- reference (the base every other per-conversation figure is joined to).
base as materialized (
    select
        sc.*,
        mf.inbound_message_count,
        mf.outbound_message_count,
        mf.first_inbound_at,
        mf.last_updated_at as messages_last_updated_at,
        coalesce(h.handover_at, mf.first_inbound_at) as response_reference_at
    from scoped as sc
    left join message_facts as mf
        on mf.conversation_id = sc.conversation_id
    left join handovers as h
        on h.conversation_id = sc.conversation_id
),

first_responses as (
    select rr.conversation_id, min(m.created_at) as first_response_at
    from base as rr
    inner join inbox.messages as m
        on m.conversation_id = rr.conversation_id
       and m.created_at >= rr.response_reference_at
    inner join inbox.agents as a
        on a.agent_id = m.agent_id
       and a.kind = 'HUMAN'
    where m.direction = 'OUTBOUND'
      and m.deleted_at is null
    group by rr.conversation_id
),

status_facts as (
    select
        sc.conversation_id,
        (array_agg(s.status order by s.changed_at desc, s.status_change_id collate "C" desc)
            filter (where s.changed_at <= export.as_of()))[1] as current_status,
        (array_agg(s.agent_id order by s.changed_at desc, s.status_change_id collate "C" desc)
            filter (where s.status in ('PENDING', 'RESOLVED')))[1] as last_status_change_agent_id,
        (array_agg(s.team_id order by s.changed_at desc, s.status_change_id collate "C" desc)
            filter (where s.status in ('PENDING', 'RESOLVED')))[1] as last_status_change_team_id,
        max(s.changed_at) filter (where s.changed_at <= export.as_of()) as last_updated_at
    from scoped as sc
    inner join inbox.status_changes as s
        on s.conversation_id = sc.conversation_id
    group by sc.conversation_id
),

sessions as materialized (
    select
        l.lock_id,
        sc.conversation_id,
        l.agent_id,
        l.started_at,
        coalesce(l.ended_at, export.as_of()) as effective_ended_at
    from scoped as sc
    inner join inbox.locks as l
        on l.conversation_id = sc.conversation_id
),

handling_sessions as (
    select distinct ss.lock_id
    from sessions as ss
    inner join inbox.messages as m
        on m.conversation_id = ss.conversation_id
       and m.agent_id = ss.agent_id
       and m.created_at >= ss.started_at
       and m.created_at <= ss.effective_ended_at
    where m.direction = 'OUTBOUND'
      and m.deleted_at is null
),

resolving_sessions as (
    select distinct ss.lock_id
    from sessions as ss
    inner join inbox.status_changes as s
        on s.conversation_id = ss.conversation_id
       and s.agent_id = ss.agent_id
       and s.changed_at >= ss.started_at
       and s.changed_at <= ss.effective_ended_at
    where s.status = 'RESOLVED'
),

lock_facts as (
    select
        ss.conversation_id,
        coalesce(sum(ss.session_seconds) filter (where ss.lock_class = 'HANDLING'), 0) as handling_seconds,
        coalesce(sum(ss.session_seconds) filter (where ss.lock_class = 'NO_REPLY'), 0) as no_reply_seconds,
        coalesce(sum(ss.session_seconds) filter (where ss.lock_class = 'CHERRY_PICKING'), 0) as cherry_picking_seconds
    from (
        select
            ss.conversation_id,
            greatest(0::numeric, export.seconds_between(ss.started_at, ss.effective_ended_at)) as session_seconds,
            case
                when hs.lock_id is not null then 'HANDLING'
                when rs.lock_id is not null then 'NO_REPLY'
                else 'CHERRY_PICKING'
            end as lock_class
        from sessions as ss
        left join handling_sessions as hs
            on hs.lock_id = ss.lock_id
        left join resolving_sessions as rs
            on rs.lock_id = ss.lock_id
    ) as ss
    group by ss.conversation_id
),

topic_applications as (
    select sc.conversation_id, ta.topic_id, ta.applied_at, ta.removed_at
    from scoped as sc
    inner join inbox.topic_applications as ta
        on ta.conversation_id = sc.conversation_id
),

topic_facts as (
    select
        ca.conversation_id,
        string_agg(ca.topic_id, ';' order by ca.first_applied_at, ca.topic_id collate "C") as topic_ids,
        string_agg(coalesce(t.name, ''), ';' order by ca.first_applied_at, ca.topic_id collate "C") as topic_names
    from (
        select ta.conversation_id, ta.topic_id, min(ta.applied_at) as first_applied_at
        from topic_applications as ta
        group by ta.conversation_id, ta.topic_id
        having bool_or(export.is_current_at_as_of(ta.applied_at, ta.removed_at))
    ) as ca
    left join inbox.topics as t
        on t.topic_id = ca.topic_id
    group by ca.conversation_id
),

topic_updates as (
    select
        ta.conversation_id,
        greatest(
            max(ta.applied_at) filter (where ta.applied_at <= export.as_of()),
            max(ta.removed_at) filter (where ta.removed_at <= export.as_of())
        ) as last_updated_at
    from topic_applications as ta
    group by ta.conversation_id
),

survey_facts as (
    select
        sc.conversation_id,
        (array_agg(cs.score order by cs.sent_at desc, cs.survey_id collate "C" desc))[1] as csat_score,
        (array_agg(cs.status order by cs.sent_at desc, cs.survey_id collate "C" desc))[1] as csat_status,
        (array_agg(cs.follow_up_question order by cs.sent_at desc, cs.survey_id collate "C" desc))[1] as csat_follow_up_question,
        (array_agg(cs.follow_up_answer order by cs.sent_at desc, cs.survey_id collate "C" desc))[1] as csat_follow_up_answer,
        greatest(
            max(cs.sent_at) filter (where cs.sent_at <= export.as_of()),
            max(cs.responded_at) filter (where cs.responded_at <= export.as_of())
        ) as last_updated_at
    from scoped as sc
    inner join inbox.csat_surveys as cs
        on cs.conversation_id = sc.conversation_id
    group by sc.conversation_id
),

detailed as (
    select
        sc.conversation_id,
        ch.medium,
        ch.name as channel_name,
        ch.display_name as channel_display_name,
        sc.contact_id,
        ct.primary_identifier as contact_primary_identifier,
        ct.secondary_identifier as contact_secondary_identifier,
        sc.conversation_created_at,
        sf.last_status_change_agent_id,
        lsc_agent.name as last_status_change_agent_name,
        lsc_agent.reference as last_status_change_agent_reference,
        sf.last_status_change_team_id,
        lsc_team.name as last_status_change_team_name,
        coalesce(sf.current_status, 'NEW') as current_status,
        sc.resolved_by,
        sc.resolution_reason,
        sc.resolution_comment,
        sc.resolve_trigger,
        sc.resolved_at,
        sc.resolved_agent_id,
        resolved_agent.name as resolved_agent_name,
        resolved_agent.reference as resolved_agent_reference,
        coalesce(sc.inbound_message_count, 0) as inbound_message_count,
        coalesce(sc.outbound_message_count, 0) as outbound_message_count,
        export.seconds_between(sc.response_reference_at, fr.first_response_at) as first_response_seconds,
        coalesce(lf.handling_seconds, 0) as handling_seconds,
        coalesce(lf.no_reply_seconds, 0) as no_reply_seconds,
        coalesce(lf.cherry_picking_seconds, 0) as cherry_picking_seconds,
        export.seconds_between(sc.first_inbound_at, sc.resolved_at) as resolution_seconds,
        tf.topic_ids,
        tf.topic_names,
        sc.url,
        greatest(
            case when sc.conversation_updated_at <= export.as_of() then sc.conversation_updated_at end,
            case when sc.conversation_created_at <= export.as_of() then sc.conversation_created_at end,
            sc.messages_last_updated_at,
            sf.last_updated_at,
            tu.last_updated_at,
            sv.last_updated_at
        ) as last_updated_at,
        sc.language,
        sv.csat_score,
        sv.csat_status,
        sv.csat_follow_up_question,
        sv.csat_follow_up_answer,
        sc.sentiment
    from base as sc
    left join inbox.channels as ch
        on ch.channel_id = sc.channel_id
    left join inbox.contacts as ct
        on ct.contact_id = sc.contact_id
    left join status_facts as sf
        on sf.conversation_id = sc.conversation_id
    left join inbox.agents as lsc_agent
        on lsc_agent.agent_id = sf.last_status_change_agent_id
    left join inbox.teams as lsc_team
        on lsc_team.team_id = sf.last_status_change_team_id
    left join inbox.agents as resolved_agent
        on resolved_agent.agent_id = sc.resolved_agent_id
    left join first_responses as fr
        on fr.conversation_id = sc.conversation_id
    left join lock_facts as lf
        on lf.conversation_id = sc.conversation_id
    left join topic_facts as tf
        on tf.conversation_id = sc.conversation_id
    left join topic_updates as tu
        on tu.conversation_id = sc.conversation_id
    left join survey_facts as sv
        on sv.conversation_id = sc.conversation_id
)

select
    d.conversation_id,
    d.medium,
    d.channel_name as channel,
    d.channel_display_name,
    d.contact_id as contact_profile_id,
    d.contact_primary_identifier,
    d.contact_secondary_identifier,
    export.format_timestamp(d.conversation_created_at) as created_at,
    d.last_status_change_agent_id,
    d.last_status_change_agent_name,
    d.last_status_change_agent_reference,
    d.last_status_change_team_id,
    d.last_status_change_team_name,
    d.current_status,
    d.resolved_by,
    d.resolution_reason,
    d.resolution_comment as resolve_comment,
    d.resolve_trigger,
    export.format_timestamp(d.resolved_at) as resolved_at,
    d.resolved_agent_id,
    d.resolved_agent_name,
    d.resolved_agent_reference,
    d.inbound_message_count,
    d.outbound_message_count,
    export.round_seconds(d.first_response_seconds) as first_response_time,
    export.round_seconds(d.handling_seconds) as handling_time,
    export.round_seconds(d.no_reply_seconds) as no_reply_time,
    export.round_seconds(d.cherry_picking_seconds) as cherry_picking_time,
    export.round_seconds(case when d.resolution_seconds >= 0 then d.resolution_seconds end) as resolution_time,
    d.topic_ids,
    d.topic_names,
    d.url as conversation_url,
    export.format_timestamp(d.last_updated_at) as last_updated,
    d.language,
    d.csat_score,
    d.csat_status as csat_completed_status,
    d.csat_follow_up_question,
    d.csat_follow_up_answer,
    d.sentiment
from detailed as d
order by d.resolved_at, d.conversation_id collate "C";

comment on view export.resolved_conversations is
'resolved-conversations: one row per conversation whose first resolution lies in R (channel filter applies), data as of T. Order: first resolution time, then conversation id.';
comment on column export.resolved_conversations.conversation_id is 'Conversation ID: conversation id.';
comment on column export.resolved_conversations.medium is 'Medium: channel''s medium.';
comment on column export.resolved_conversations.channel is 'Channel: channel''s name.';
comment on column export.resolved_conversations.channel_display_name is 'Channel Display Name: channel''s display name.';
comment on column export.resolved_conversations.contact_profile_id is 'Contact Profile ID: contact id.';
comment on column export.resolved_conversations.contact_primary_identifier is 'Contact Primary Identifier: contact''s primary identifier.';
comment on column export.resolved_conversations.contact_secondary_identifier is 'Contact Secondary Identifier: contact''s secondary identifier.';
comment on column export.resolved_conversations.created_at is 'Created at: conversation created_at.';
comment on column export.resolved_conversations.last_status_change_agent_id is 'Last Status Change Agent ID: agent of the latest status change to PENDING or RESOLVED.';
comment on column export.resolved_conversations.last_status_change_agent_name is 'Last Status Change Agent Name: its agent''s name.';
comment on column export.resolved_conversations.last_status_change_agent_reference is 'Last Status Change Agent Reference: its agent''s reference.';
comment on column export.resolved_conversations.last_status_change_team_id is 'Last Status Change Team ID: its team id.';
comment on column export.resolved_conversations.last_status_change_team_name is 'Last Status Change Team Name: its team''s name.';
comment on column export.resolved_conversations.current_status is 'Current Status: status of the latest status change at or before T (by at, then id); NEW if none.';
comment on column export.resolved_conversations.resolved_by is 'Resolved By: first resolution''s resolved_by.';
comment on column export.resolved_conversations.resolution_reason is 'Resolution Reason: first resolution''s resolution_reason.';
comment on column export.resolved_conversations.resolve_comment is 'Resolve Comment: first resolution''s resolution_comment.';
comment on column export.resolved_conversations.resolve_trigger is 'Resolve Trigger: first resolution''s resolve_trigger.';
comment on column export.resolved_conversations.resolved_at is 'Resolved at: first resolution''s time.';
comment on column export.resolved_conversations.resolved_agent_id is 'Resolved Agent ID: first resolution''s agent id.';
comment on column export.resolved_conversations.resolved_agent_name is 'Resolved Agent Name: its agent''s name.';
comment on column export.resolved_conversations.resolved_agent_reference is 'Resolved Agent Reference: its agent''s reference.';
comment on column export.resolved_conversations.inbound_message_count is 'Inbound Message Count: non-deleted inbound messages.';
comment on column export.resolved_conversations.outbound_message_count is 'Outbound Message Count: non-deleted outbound messages.';
comment on column export.resolved_conversations.first_response_time is 'First Response Time (s): first response - response reference; empty if either is missing.';
comment on column export.resolved_conversations.handling_time is 'Handling Time (s): total length of handling lock sessions (ongoing ones run to T).';
comment on column export.resolved_conversations.no_reply_time is 'No Reply Time (s): total length of no-reply lock sessions.';
comment on column export.resolved_conversations.cherry_picking_time is 'Cherry Picking Time (s): total length of cherry-picking lock sessions.';
comment on column export.resolved_conversations.resolution_time is 'Resolution Time (s): first resolution - first inbound; empty if either is missing or negative.';
comment on column export.resolved_conversations.topic_ids is 'Topic IDs: current topics (not removed at T), ";"-joined by first application then id.';
comment on column export.resolved_conversations.topic_names is 'Topic Names: the same topics'' names.';
comment on column export.resolved_conversations.conversation_url is 'Conversation URL: conversation url.';
comment on column export.resolved_conversations.last_updated is 'Last Updated: latest timestamp at or before T of any record about the conversation.';
comment on column export.resolved_conversations.language is 'Language: conversation language.';
comment on column export.resolved_conversations.csat_score is 'CSAT Score: latest survey''s score.';
comment on column export.resolved_conversations.csat_completed_status is 'CSAT Completed Status: latest survey''s status.';
comment on column export.resolved_conversations.csat_follow_up_question is 'CSAT Follow Up Question: latest survey''s follow-up question.';
comment on column export.resolved_conversations.csat_follow_up_answer is 'CSAT Follow Up Answer: latest survey''s follow-up answer.';
comment on column export.resolved_conversations.sentiment is 'Sentiment: conversation sentiment.';
