-- export.responses (`responses`)
--
-- Grain: one row per response whose message M was created in R, in a conversation of the
-- selected channels. A response is a human reply paired with the queue entry Q it answers
-- (facts.human_replies: the first human reply after one or more queue entries, paired with the
-- earliest of them). Order (the CSV view): To (M's created_at), then conversation id (then M's
-- id).
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed), _between
-- (dates in a zone), the view (CSV cells for the session's parameters).

create type export.responses_row as (
    conversation_id            text,
    channel_id                 text,
    medium                     text,
    sender_channel             text,
    sender_channel_full_name   text,
    contact_profile_id         text,
    queue_entry_id             text,
    started_by                 text,
    handover_reason            text,
    from_at                    timestamptz,
    to_at                      timestamptz,
    agent_response_seconds     bigint,
    responding_agent_id        text,
    responding_agent_name      text,
    responding_agent_reference text,
    inbound_message_id         text,
    outbound_message_id        text,
    conversation_url           text
);

create function export.responses_within(
    range_start timestamptz,
    range_end   timestamptz,
    as_of       timestamptz default now(),
    channel_ids text[] default null
)
returns setof export.responses_row
language sql stable parallel safe
as $$
    select
        r.conversation_id,
        r.channel_id,
        ch.medium,
        ch.name,
        ch.display_name,
        r.contact_id,
        q.queue_entry_id,
        q.started_by,
        case when q.started_by = 'VA_HANDED_OVER_CONVERSATION' then q.handover_reason end,
        q.queued_at,
        r.created_at,
        export.round_seconds(facts.seconds_between(q.queued_at, r.created_at)),
        r.agent_id,
        a.name,
        a.reference,
        q.inbound_message_id,
        r.message_id,
        c.url
    from facts.human_replies as r
    inner join inbox.queue_entries as q
        on q.queue_entry_id = r.response_queue_entry_id
    left join inbox.agents as a
        on a.agent_id = r.agent_id
    left join inbox.conversations as c
        on c.conversation_id = r.conversation_id
    left join inbox.channels as ch
        on ch.channel_id = r.channel_id
    where r.created_at >= range_start
      and r.created_at < range_end
      and export.channel_matches(r.channel_id, channel_ids)
$$;
comment on function export.responses_within(timestamptz, timestamptz, timestamptz, text[]) is
'responses, typed: one row per response (human reply M paired with the queue entry Q it answers) whose M was created in [range_start, range_end) (channel filter: null = all). Unordered; as_of is unused (no response figure depends on T).';

create function export.responses_between(
    from_date   date,
    to_date     date,
    time_zone   text default 'UTC',
    channel_ids text[] default null,
    as_of       timestamptz default now()
)
returns setof export.responses_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, is_range_required => true) as p
    cross join lateral export.responses_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids) as x
$$;
comment on function export.responses_between(date, date, text, text[], timestamptz) is
'responses, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.responses as
select
    r.conversation_id,
    r.medium,
    r.sender_channel,
    r.sender_channel_full_name,
    r.contact_profile_id,
    r.started_by,
    r.handover_reason,
    export.format_timestamp(r.from_at) as from_at,
    export.format_timestamp(r.to_at) as to_at,
    r.agent_response_seconds as agent_response_time,
    r.responding_agent_id,
    r.responding_agent_name,
    r.responding_agent_reference,
    r.inbound_message_id,
    r.outbound_message_id,
    r.conversation_url
from export.responses_within(export.range_start(), export.range_end(), export.as_of(), export.channel_ids()) as r
order by r.to_at, r.conversation_id collate "C", r.outbound_message_id collate "C";

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
