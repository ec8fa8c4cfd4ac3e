-- export.open_conversations (`open-conversations`)
--
-- Grain: one row per loaded conversation whose current status at T is NEW or PENDING, created in
-- R when a range is given (either bound may be null = open), in the selected channels.
-- Order: created at, then conversation id.
-- The 32 columns of resolved-conversations without Resolution Reason, Resolve Comment, Resolve
-- Trigger and the four CSAT columns. The Resolved ... columns describe the LATEST resolution at or
-- before T (the one a reopen followed), else are empty; Resolution Time keeps its definition
-- (first resolution - first inbound).
--
-- Plan: conversations.created_at range scan (the whole table when no range is given: the open set
-- is a property of the whole warehouse), then per-conversation lookups.

create view export.open_conversations as
with scoped as (
    select c.*
    from inbox.conversations as c
    where c.created_at >= coalesce(export.range_start(), '-infinity'::timestamptz)
      and c.created_at < coalesce(export.range_end(), 'infinity'::timestamptz)
      and export.channel_selected(c.channel_id)
),

open_conversations as (
    select sc.*, cs.status as current_status
    from scoped as sc
    cross join lateral export.current_status(sc.conversation_id) as cs
    where cs.status in ('NEW', 'PENDING')
),

detailed as (
    select
        oc.conversation_id,
        ch.medium,
        ch.name as channel_name,
        ch.display_name as channel_display_name,
        oc.contact_id,
        ct.primary_identifier as contact_primary_identifier,
        ct.secondary_identifier as contact_secondary_identifier,
        oc.created_at as conversation_created_at,
        lsc.agent_id as last_status_change_agent_id,
        lsc_agent.name as last_status_change_agent_name,
        lsc_agent.reference as last_status_change_agent_reference,
        lsc.team_id as last_status_change_team_id,
        lsc_team.name as last_status_change_team_name,
        oc.current_status,
        lr.resolved_by,
        lr.changed_at as resolved_at,
        lr.agent_id as resolved_agent_id,
        resolved_agent.name as resolved_agent_name,
        resolved_agent.reference as resolved_agent_reference,
        mc.inbound_message_count,
        mc.outbound_message_count,
        fr.first_response_seconds,
        lt.handling_seconds,
        lt.no_reply_seconds,
        lt.cherry_picking_seconds,
        export.seconds_between(fi.created_at, fres.changed_at) as resolution_seconds,
        tp.topic_ids,
        tp.topic_names,
        oc.url,
        lu.last_updated_at,
        oc.language,
        oc.sentiment
    from open_conversations as oc
    left join inbox.channels as ch
        on ch.channel_id = oc.channel_id
    left join inbox.contacts as ct
        on ct.contact_id = oc.contact_id
    left join lateral export.last_status_change(oc.conversation_id) as lsc on true
    left join inbox.agents as lsc_agent
        on lsc_agent.agent_id = lsc.agent_id
    left join inbox.teams as lsc_team
        on lsc_team.team_id = lsc.team_id
    left join lateral export.latest_resolution(oc.conversation_id, export.as_of()) as lr on true
    left join inbox.agents as resolved_agent
        on resolved_agent.agent_id = lr.agent_id
    left join lateral export.first_resolution(oc.conversation_id) as fres on true
    left join lateral export.message_counts(oc.conversation_id) as mc on true
    left join lateral export.first_response(oc.conversation_id) as fr on true
    left join lateral export.lock_times(oc.conversation_id) as lt on true
    left join lateral export.first_inbound(oc.conversation_id) as fi on true
    left join lateral export.current_topics(oc.conversation_id) as tp on true
    left join lateral export.last_updated_at(oc.conversation_id) as lu on true
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
    d.sentiment
from detailed as d
order by d.conversation_created_at, d.conversation_id collate "C";

comment on view export.open_conversations is
'open-conversations: one row per conversation whose current status at T is NEW or PENDING (created in R when a range is given; channel filter applies). Order: created at, then conversation id.';
comment on column export.open_conversations.conversation_id is 'Conversation ID: conversation id.';
comment on column export.open_conversations.medium is 'Medium: channel''s medium.';
comment on column export.open_conversations.channel is 'Channel: channel''s name.';
comment on column export.open_conversations.channel_display_name is 'Channel Display Name: channel''s display name.';
comment on column export.open_conversations.contact_profile_id is 'Contact Profile ID: contact id.';
comment on column export.open_conversations.contact_primary_identifier is 'Contact Primary Identifier: contact''s primary identifier.';
comment on column export.open_conversations.contact_secondary_identifier is 'Contact Secondary Identifier: contact''s secondary identifier.';
comment on column export.open_conversations.created_at is 'Created at: conversation created_at.';
comment on column export.open_conversations.last_status_change_agent_id is 'Last Status Change Agent ID: agent of the latest status change to PENDING or RESOLVED.';
comment on column export.open_conversations.last_status_change_agent_name is 'Last Status Change Agent Name: its agent''s name.';
comment on column export.open_conversations.last_status_change_agent_reference is 'Last Status Change Agent Reference: its agent''s reference.';
comment on column export.open_conversations.last_status_change_team_id is 'Last Status Change Team ID: its team id.';
comment on column export.open_conversations.last_status_change_team_name is 'Last Status Change Team Name: its team''s name.';
comment on column export.open_conversations.current_status is 'Current Status: NEW or PENDING (status of the latest status change at or before T; NEW if none).';
comment on column export.open_conversations.resolved_by is 'Resolved By: resolved_by of the latest resolution at or before T (the conversation was resolved then reopened); else empty.';
comment on column export.open_conversations.resolved_at is 'Resolved at: time of that latest resolution.';
comment on column export.open_conversations.resolved_agent_id is 'Resolved Agent ID: that resolution''s agent id.';
comment on column export.open_conversations.resolved_agent_name is 'Resolved Agent Name: its agent''s name.';
comment on column export.open_conversations.resolved_agent_reference is 'Resolved Agent Reference: its agent''s reference.';
comment on column export.open_conversations.inbound_message_count is 'Inbound Message Count: non-deleted inbound messages.';
comment on column export.open_conversations.outbound_message_count is 'Outbound Message Count: non-deleted outbound messages.';
comment on column export.open_conversations.first_response_time is 'First Response Time (s): first response - response reference; empty if either is missing.';
comment on column export.open_conversations.handling_time is 'Handling Time (s): total length of handling lock sessions (ongoing ones run to T).';
comment on column export.open_conversations.no_reply_time is 'No Reply Time (s): total length of no-reply lock sessions.';
comment on column export.open_conversations.cherry_picking_time is 'Cherry Picking Time (s): total length of cherry-picking lock sessions.';
comment on column export.open_conversations.resolution_time is 'Resolution Time (s): FIRST resolution - first inbound; empty if either is missing or negative.';
comment on column export.open_conversations.topic_ids is 'Topic IDs: current topics (not removed at T), ";"-joined by first application then id.';
comment on column export.open_conversations.topic_names is 'Topic Names: the same topics'' names.';
comment on column export.open_conversations.conversation_url is 'Conversation URL: conversation url.';
comment on column export.open_conversations.last_updated is 'Last Updated: latest timestamp at or before T of any record about the conversation.';
comment on column export.open_conversations.language is 'Language: conversation language.';
comment on column export.open_conversations.sentiment is 'Sentiment: conversation sentiment.';
