-- export.open_conversations (`open-conversations`)
--
-- Grain: one row per loaded conversation whose current status at T is NEW or PENDING, created in
-- R when a range is given (either bound may be null = open), in the selected channels.
-- Order (the CSV view): created at, then conversation id.
-- The 32 columns of resolved-conversations without Resolution Reason, Resolve Comment, Resolve
-- Trigger and the four CSAT columns. The Resolved ... columns describe the LATEST resolution at or
-- before T (the one a reopen followed), else are empty; Resolution Time keeps its definition
-- (first resolution - first inbound).
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed), _between
-- (dates in a zone), the view (CSV cells for the session's parameters). Every figure is a
-- per-conversation fact read at T (facts.conversations_as_of).

create type export.open_conversations_row as (
    conversation_id                    text,
    channel_id                         text,
    medium                             text,
    channel                            text,
    channel_display_name               text,
    contact_profile_id                 text,
    contact_primary_identifier         text,
    contact_secondary_identifier       text,
    created_at                         timestamptz,
    last_status_change_agent_id        text,
    last_status_change_agent_name      text,
    last_status_change_agent_reference text,
    last_status_change_team_id         text,
    last_status_change_team_name       text,
    current_status                     text,
    resolved_by                        text,
    resolved_at                        timestamptz,
    resolved_agent_id                  text,
    resolved_agent_name                text,
    resolved_agent_reference           text,
    inbound_message_count              bigint,
    outbound_message_count             bigint,
    first_response_seconds             bigint,
    first_response_time_calendar       bigint,
    handling_seconds                   bigint,
    no_reply_seconds                   bigint,
    cherry_picking_seconds             bigint,
    resolution_seconds                 bigint,
    topic_ids                          text[],
    topic_names                        text[],
    conversation_url                   text,
    last_updated_at                    timestamptz,
    language                           text,
    sentiment                          text
);

create function export.open_conversations_within(
    range_start timestamptz default null,
    range_end   timestamptz default null,
    as_of       timestamptz default now(),
    channel_ids text[] default null
)
returns setof export.open_conversations_row
language sql stable parallel safe
as $$
    select
        c.conversation_id,
        c.channel_id,
        ch.medium,
        ch.name,
        ch.display_name,
        c.contact_id,
        ct.primary_identifier,
        ct.secondary_identifier,
        c.created_at,
        fc.last_status_change_agent_id,
        lsc_agent.name,
        lsc_agent.reference,
        fc.last_status_change_team_id,
        lsc_team.name,
        fc.current_status,
        lr.resolved_by,
        lr.changed_at,
        lr.agent_id,
        resolved_agent.name,
        resolved_agent.reference,
        fc.inbound_message_count,
        fc.outbound_message_count,
        export.round_seconds(fc.first_response_seconds),
        export.round_seconds(fc.first_response_calendar_seconds),
        export.round_seconds(fc.handling_seconds),
        export.round_seconds(fc.no_reply_seconds),
        export.round_seconds(fc.cherry_picking_seconds),
        export.round_seconds(fc.resolution_seconds),
        fc.topic_ids,
        fc.topic_names,
        c.url,
        fc.last_updated_at,
        c.language,
        c.sentiment
    from inbox.conversations as c
    inner join facts.conversations_as_of(as_of) as fc
        on fc.conversation_id = c.conversation_id
    left join inbox.channels as ch
        on ch.channel_id = c.channel_id
    left join inbox.contacts as ct
        on ct.contact_id = c.contact_id
    left join inbox.agents as lsc_agent
        on lsc_agent.agent_id = fc.last_status_change_agent_id
    left join inbox.teams as lsc_team
        on lsc_team.team_id = fc.last_status_change_team_id
    left join inbox.status_changes as lr
        on lr.status_change_id = fc.latest_resolution_id
    left join inbox.agents as resolved_agent
        on resolved_agent.agent_id = lr.agent_id
    where c.created_at >= coalesce(range_start, '-infinity'::timestamptz)
      and c.created_at < coalesce(range_end, 'infinity'::timestamptz)
      and export.channel_matches(c.channel_id, channel_ids)
      and fc.current_status in ('NEW', 'PENDING')
$$;
comment on function export.open_conversations_within(timestamptz, timestamptz, timestamptz, text[]) is
'open-conversations, typed: one row per conversation whose status at as_of is NEW or PENDING, created in [range_start, range_end) when given (channel filter: null = all). Unordered.';

create function export.open_conversations_between(
    from_date   date default null,
    to_date     date default null,
    time_zone   text default 'UTC',
    channel_ids text[] default null,
    as_of       timestamptz default now()
)
returns setof export.open_conversations_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, is_range_required => false) as p
    cross join lateral export.open_conversations_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids) as x
$$;
comment on function export.open_conversations_between(date, date, text, text[], timestamptz) is
'open-conversations, typed, created on the dates from_date..to_date (inclusive, read in time_zone; null = open). Unordered.';

create view export.open_conversations as
select
    o.conversation_id,
    o.medium,
    o.channel,
    o.channel_display_name,
    o.contact_profile_id,
    o.contact_primary_identifier,
    o.contact_secondary_identifier,
    export.format_timestamp(o.created_at) as created_at,
    o.last_status_change_agent_id,
    o.last_status_change_agent_name,
    o.last_status_change_agent_reference,
    o.last_status_change_team_id,
    o.last_status_change_team_name,
    o.current_status,
    o.resolved_by,
    export.format_timestamp(o.resolved_at) as resolved_at,
    o.resolved_agent_id,
    o.resolved_agent_name,
    o.resolved_agent_reference,
    o.inbound_message_count,
    o.outbound_message_count,
    o.first_response_seconds as first_response_time,
    o.handling_seconds as handling_time,
    o.no_reply_seconds as no_reply_time,
    o.cherry_picking_seconds as cherry_picking_time,
    o.resolution_seconds as resolution_time,
    array_to_string(o.topic_ids, ';') as topic_ids,
    array_to_string(o.topic_names, ';') as topic_names,
    o.conversation_url,
    export.format_timestamp(o.last_updated_at) as last_updated,
    o.language,
    o.sentiment
from export.rows_for_session(null::export.open_conversations_row, 'open_conversations_within') as o
order by o.created_at, o.conversation_id collate "C";

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
comment on column export.open_conversations.first_response_time is 'First Response Time (s): the business time of the conversation''s channel from the response reference to the first response (calendar time on a channel without business hours; business-hours.md); empty if either is missing.';
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
