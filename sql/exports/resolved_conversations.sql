-- export.resolved_conversations (`resolved-conversations`)
--
-- Grain: one row per loaded conversation whose FIRST resolution (facts.conversations) lies in R,
-- in the selected channels; data as of T. Order (the CSV view): first resolution time, then
-- conversation id.
--
-- One definition, three forms: export.resolved_conversations_within(R, T, channels) returns the
-- typed rows (timestamptz, bigint seconds, arrays); export.resolved_conversations_between reads R
-- from dates in a zone; the view export.resolved_conversations formats the same rows as CSV cells
-- for the session's parameters (export.set_parameters), which it passes as the session readers
-- themselves (export.range_start(), ...): PostgreSQL evaluates such stable calls when it
-- estimates, so the plan is made for the actual range (read from a one-row relation instead, the
-- range was a blind guess and the messages export ran 1.5-2x slower). Every figure is a
-- per-conversation fact read at T (facts.conversations_as_of); this file only selects, joins the
-- names and rounds.

create type export.resolved_conversations_row as (
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
    resolution_reason                  text,
    resolve_comment                    text,
    resolve_trigger                    text,
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
    csat_score                         smallint,
    csat_completed_status              text,
    csat_follow_up_question            text,
    csat_follow_up_answer              text,
    sentiment                          text
);

create function export.resolved_conversations_within(
    range_start timestamptz,
    range_end   timestamptz,
    as_of       timestamptz default now(),
    channel_ids text[] default null
)
returns setof export.resolved_conversations_row
language sql stable parallel safe
as $$
    select
        fc.conversation_id,
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
        fr.resolved_by,
        fr.resolution_reason,
        fr.resolution_comment,
        fr.resolve_trigger,
        fr.changed_at,
        fr.agent_id,
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
        sv.score,
        sv.status,
        sv.follow_up_question,
        sv.follow_up_answer,
        c.sentiment
    from facts.conversations_as_of(as_of) as fc
    inner join inbox.conversations as c
        on c.conversation_id = fc.conversation_id
    inner join inbox.status_changes as fr
        on fr.status_change_id = fc.first_resolution_id
    left join inbox.channels as ch
        on ch.channel_id = c.channel_id
    left join inbox.contacts as ct
        on ct.contact_id = c.contact_id
    left join inbox.agents as lsc_agent
        on lsc_agent.agent_id = fc.last_status_change_agent_id
    left join inbox.teams as lsc_team
        on lsc_team.team_id = fc.last_status_change_team_id
    left join inbox.agents as resolved_agent
        on resolved_agent.agent_id = fr.agent_id
    left join inbox.csat_surveys as sv
        on sv.survey_id = fc.latest_survey_id
    where fc.first_resolved_at >= range_start
      and fc.first_resolved_at < range_end
      and export.channel_matches(c.channel_id, channel_ids)
$$;
comment on function export.resolved_conversations_within(timestamptz, timestamptz, timestamptz, text[]) is
'resolved-conversations, typed: one row per conversation whose first resolution lies in [range_start, range_end) (channel filter: null = all), data as of as_of. Unordered.';

create function export.resolved_conversations_between(
    from_date   date,
    to_date     date,
    time_zone   text default 'UTC',
    channel_ids text[] default null,
    as_of       timestamptz default now()
)
returns setof export.resolved_conversations_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, is_range_required => true) as p
    cross join lateral export.resolved_conversations_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids) as x
$$;
comment on function export.resolved_conversations_between(date, date, text, text[], timestamptz) is
'resolved-conversations, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.resolved_conversations as
select
    r.conversation_id,
    r.medium,
    r.channel,
    r.channel_display_name,
    r.contact_profile_id,
    r.contact_primary_identifier,
    r.contact_secondary_identifier,
    export.format_timestamp(r.created_at) as created_at,
    r.last_status_change_agent_id,
    r.last_status_change_agent_name,
    r.last_status_change_agent_reference,
    r.last_status_change_team_id,
    r.last_status_change_team_name,
    r.current_status,
    r.resolved_by,
    r.resolution_reason,
    r.resolve_comment,
    r.resolve_trigger,
    export.format_timestamp(r.resolved_at) as resolved_at,
    r.resolved_agent_id,
    r.resolved_agent_name,
    r.resolved_agent_reference,
    r.inbound_message_count,
    r.outbound_message_count,
    r.first_response_seconds as first_response_time,
    r.handling_seconds as handling_time,
    r.no_reply_seconds as no_reply_time,
    r.cherry_picking_seconds as cherry_picking_time,
    r.resolution_seconds as resolution_time,
    array_to_string(r.topic_ids, ';') as topic_ids,
    array_to_string(r.topic_names, ';') as topic_names,
    r.conversation_url,
    export.format_timestamp(r.last_updated_at) as last_updated,
    r.language,
    r.csat_score,
    r.csat_completed_status,
    r.csat_follow_up_question,
    r.csat_follow_up_answer,
    r.sentiment
from export.resolved_conversations_within(export.range_start(), export.range_end(), export.as_of(), export.channel_ids()) as r
order by r.resolved_at, r.conversation_id collate "C";

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
comment on column export.resolved_conversations.first_response_time is 'First Response Time (s): the business time of the conversation''s channel from the response reference to the first response (calendar time on a channel without business hours; business-hours.md); empty if either is missing.';
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
