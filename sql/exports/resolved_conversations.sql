-- export.resolved_conversations (`resolved-conversations`)
--
-- Grain: one row per loaded conversation whose FIRST resolution (earliest RESOLVED status change,
-- by changed_at then id) lies in R, in the selected channels; data as of T.
-- Order: first resolution time, then conversation id.
--
-- Plan: an index range scan of status_changes.changed_at over R keeps the RESOLVED changes that
-- are their conversation's first resolution (an index lookup per change); every other figure is
-- looked up per conversation (inlined LATERAL functions of sql/exports/shared/).

create view export.resolved_conversations as
with first_resolutions as (
    select s.*
    from inbox.status_changes as s
    cross join lateral export.first_resolution(s.conversation_id) as earliest
    where s.changed_at >= export.range_start()
      and s.changed_at < export.range_end()
      and s.status = 'RESOLVED'
      and earliest.status_change_id = s.status_change_id
),

scoped as (
    select
        fr.*,
        c.channel_id,
        c.contact_id,
        c.created_at as conversation_created_at,
        c.url,
        c.language,
        c.sentiment
    from first_resolutions as fr
    inner join inbox.conversations as c
        on c.conversation_id = fr.conversation_id
    where export.channel_selected(c.channel_id)
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
        lsc.agent_id as last_status_change_agent_id,
        lsc_agent.name as last_status_change_agent_name,
        lsc_agent.reference as last_status_change_agent_reference,
        lsc.team_id as last_status_change_team_id,
        lsc_team.name as last_status_change_team_name,
        cs.status as current_status,
        sc.resolved_by,
        sc.resolution_reason,
        sc.resolution_comment,
        sc.resolve_trigger,
        sc.changed_at as resolved_at,
        sc.status_change_id as resolution_id,
        sc.agent_id as resolved_agent_id,
        resolved_agent.name as resolved_agent_name,
        resolved_agent.reference as resolved_agent_reference,
        mc.inbound_message_count,
        mc.outbound_message_count,
        fr.first_response_seconds,
        lt.handling_seconds,
        lt.no_reply_seconds,
        lt.cherry_picking_seconds,
        export.seconds_between(fi.created_at, sc.changed_at) as resolution_seconds,
        tp.topic_ids,
        tp.topic_names,
        sc.url,
        lu.last_updated_at,
        sc.language,
        sv.score as csat_score,
        sv.status as csat_status,
        sv.follow_up_question as csat_follow_up_question,
        sv.follow_up_answer as csat_follow_up_answer,
        sc.sentiment
    from scoped as sc
    left join inbox.channels as ch
        on ch.channel_id = sc.channel_id
    left join inbox.contacts as ct
        on ct.contact_id = sc.contact_id
    left join lateral export.last_status_change(sc.conversation_id) as lsc on true
    left join inbox.agents as lsc_agent
        on lsc_agent.agent_id = lsc.agent_id
    left join inbox.teams as lsc_team
        on lsc_team.team_id = lsc.team_id
    left join lateral export.current_status(sc.conversation_id) as cs on true
    left join inbox.agents as resolved_agent
        on resolved_agent.agent_id = sc.agent_id
    left join lateral export.message_counts(sc.conversation_id) as mc on true
    left join lateral export.first_response(sc.conversation_id) as fr on true
    left join lateral export.lock_times(sc.conversation_id) as lt on true
    left join lateral export.first_inbound(sc.conversation_id) as fi on true
    left join lateral export.current_topics(sc.conversation_id) as tp on true
    left join lateral export.last_updated_at(sc.conversation_id) as lu on true
    left join lateral export.latest_survey(sc.conversation_id) as sv on true
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
