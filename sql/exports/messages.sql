-- export.messages (`messages`)
--
-- Grain: one row per message (deleted ones included) created in R, in a conversation of the
-- selected channels (a message of a conversation that is not loaded is listed, with empty
-- conversation columns, only when no channel filter is given).
-- Order (the CSV view): created at, then message id.
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed; also takes the
-- content policy), _between (dates in a zone), the view (CSV cells for the session's parameters).
-- Plan (docs/benchmarks.md, "The messages export"):
--   * the previous message is lag() over the in-range messages of each conversation, computed on
--     the messages alone, in the order of their (conversation_id, created_at) index; a
--     conversation's first in-range message (no lag) takes the conversation's latest message
--     before R (merged in the same order);
--   * only then is each message joined, by hash, to its conversation's descriptive columns, its
--     agent, its team and its current tags at T (facts.tag_cells, one row per message of R, so
--     the planner hashes the tags rather than the million messages);
--   * the CSV view sorts once, by created at then id.

create type export.messages_row as (
    message_id                     text,
    created_at                     timestamptz,
    conversation_id                text,
    channel_id                     text,
    medium                         text,
    channel                        text,
    channel_display_name           text,
    contact_profile_id             text,
    contact_primary_identifier     text,
    contact_secondary_identifier   text,
    message_type                   text,
    origin                         text,
    outbound_message_type          text,
    direction                      text,
    agent_id                       text,
    agent_name                     text,
    agent_reference                text,
    team_id                        text,
    team_name                      text,
    system_user_type               text,
    tag_ids                        text[],
    tag_names                      text[],
    content                        text,
    conversation_url               text,
    post_url                       text,
    last_updated_at                timestamptz,
    deleted_at                     timestamptz,
    previous_message_id            text,
    seconds_since_previous_message bigint,
    sentiment                      text
);

create function export.messages_within(
    range_start    timestamptz,
    range_end      timestamptz,
    as_of          timestamptz default now(),
    channel_ids    text[] default null,
    content_policy text default 'twitter',
    is_scheduled   boolean default false
)
returns setof export.messages_row
language sql stable parallel safe
as $$
    with numbered as (
        -- the previous in-range message: lag() over the range's messages of each conversation,
        -- read in the order of the (conversation_id, created_at) index, before any join
        select
            m.*,
            lag(m.message_id) over w as lag_message_id,
            lag(m.created_at) over w as lag_created_at
        from inbox.messages as m
        where m.created_at >= range_start
          and m.created_at < range_end
        window w as (partition by m.conversation_id order by m.created_at, m.message_id collate "C")
    ),

    -- the latest message before R of each conversation with messages in R: the previous message
    -- of the conversation's first message in R (no lag). Every message of the conversation that
    -- comes before that first one (by created at, then id) lies before R, since those in R are in
    -- the window; so the predecessor is the conversation's latest message before R.
    before_range as (
        select distinct on (p.conversation_id)
            p.conversation_id,
            p.message_id,
            p.created_at
        from inbox.messages as p
        where p.created_at < range_start
          and exists (
              select 1
              from inbox.messages as r
              where r.conversation_id = p.conversation_id
                and r.created_at >= range_start
                and r.created_at < range_end
          )
        order by p.conversation_id, p.created_at desc, p.message_id collate "C" desc
    ),

    conversation_info as (
        select
            c.conversation_id,
            c.channel_id,
            c.contact_id,
            c.url as conversation_url,
            c.sentiment as conversation_sentiment,
            ch.medium,
            ch.name as channel_name,
            ch.display_name as channel_display_name,
            ct.primary_identifier as contact_primary_identifier,
            ct.secondary_identifier as contact_secondary_identifier
        from inbox.conversations as c
        left join inbox.channels as ch
            on ch.channel_id = c.channel_id
        left join inbox.contacts as ct
            on ct.contact_id = c.contact_id
        where export.channel_matches(c.channel_id, channel_ids)
    )

    select
        s.message_id,
        s.created_at,
        s.conversation_id,
        c.channel_id,
        c.medium,
        c.channel_name,
        c.channel_display_name,
        c.contact_id,
        c.contact_primary_identifier,
        c.contact_secondary_identifier,
        s.message_type,
        s.origin,
        s.outbound_type,
        s.direction,
        s.agent_id,
        a.name,
        a.reference,
        s.team_id,
        t.name,
        s.system_user_type,
        tg.tag_ids,
        tg.tag_names,
        case when export.content_allowed(c.medium, content_policy, is_scheduled) then s.content end,
        c.conversation_url,
        s.post_url,
        coalesce(s.updated_at, s.created_at),
        s.deleted_at,
        coalesce(s.lag_message_id, br.message_id),
        export.round_seconds(facts.seconds_between(coalesce(s.lag_created_at, br.created_at), s.created_at)),
        coalesce(s.sentiment, c.conversation_sentiment)
    from numbered as s
    left join before_range as br
        on br.conversation_id = s.conversation_id
       and s.lag_message_id is null
    left join conversation_info as c
        on c.conversation_id = s.conversation_id
    left join inbox.agents as a
        on a.agent_id = s.agent_id
    left join inbox.teams as t
        on t.team_id = s.team_id
    left join facts.tag_cells(as_of, range_start, range_end) as tg
        on tg.message_id = s.message_id
    where c.conversation_id is not null or export.channel_matches(null, channel_ids)
$$;
comment on function export.messages_within(timestamptz, timestamptz, timestamptz, text[], text, boolean) is
'messages, typed: one row per message (deleted ones included) created in [range_start, range_end) (channel filter: null = all); tags current at as_of; content per the content policy (twitter | all | none; never when is_scheduled). Unordered.';

create function export.messages_between(
    from_date      date,
    to_date        date,
    time_zone      text default 'UTC',
    channel_ids    text[] default null,
    as_of          timestamptz default now(),
    content_policy text default 'twitter'
)
returns setof export.messages_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, content_policy,
                                   is_range_required => true) as p
    cross join lateral export.messages_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids,
        p.resolved_content_policy, false) as x
$$;
comment on function export.messages_between(date, date, text, text[], timestamptz, text) is
'messages, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.messages as
select
    m.message_id,
    export.format_timestamp(m.created_at) as created_at,
    m.conversation_id,
    m.medium,
    m.channel,
    m.channel_display_name,
    m.contact_profile_id,
    m.contact_primary_identifier,
    m.contact_secondary_identifier,
    m.message_type,
    m.origin,
    m.outbound_message_type,
    m.direction,
    m.agent_id,
    m.agent_name,
    m.agent_reference,
    m.team_id,
    m.team_name,
    m.system_user_type,
    array_to_string(m.tag_ids, ';') as tag_ids,
    array_to_string(m.tag_names, ';') as tag_names,
    m.content,
    m.conversation_url,
    m.post_url,
    export.format_timestamp(m.last_updated_at) as last_updated,
    export.format_timestamp(m.deleted_at) as deleted_at,
    m.previous_message_id,
    m.seconds_since_previous_message as time_since_previous_message,
    m.sentiment
from export.messages_within(
    export.range_start(), export.range_end(), export.as_of(), export.channel_ids(), export.content_policy(),
    export.is_scheduled()) as m
order by m.created_at, m.message_id collate "C";

comment on view export.messages is
'messages: one row per message (deleted ones included) created in R in a conversation of the selected channels. Order: created at, then message id.';
comment on column export.messages.message_id is 'Message ID: message id.';
comment on column export.messages.created_at is 'Created at: message created_at.';
comment on column export.messages.conversation_id is 'Conversation ID.';
comment on column export.messages.medium is 'Medium: channel''s medium.';
comment on column export.messages.channel is 'Channel: channel''s name.';
comment on column export.messages.channel_display_name is 'Channel Display Name: channel''s display name.';
comment on column export.messages.contact_profile_id is 'Contact Profile ID: the conversation''s contact.';
comment on column export.messages.contact_primary_identifier is 'Contact Primary Identifier.';
comment on column export.messages.contact_secondary_identifier is 'Contact Secondary Identifier.';
comment on column export.messages.message_type is 'Message Type: message_type.';
comment on column export.messages.origin is 'Origin: origin.';
comment on column export.messages.outbound_message_type is 'Outbound Message Type: outbound_type.';
comment on column export.messages.direction is 'Direction: INBOUND or OUTBOUND.';
comment on column export.messages.agent_id is 'Agent ID: author agent (human or virtual).';
comment on column export.messages.agent_name is 'Agent Name.';
comment on column export.messages.agent_reference is 'Agent Reference.';
comment on column export.messages.team_id is 'Team ID: message team_id.';
comment on column export.messages.team_name is 'Team Name.';
comment on column export.messages.system_user_type is 'System User Type: system_user_type.';
comment on column export.messages.tag_ids is 'Tag IDs: tags applied to the message and not removed at T, ";"-joined by first application then id.';
comment on column export.messages.tag_names is 'Tag Names: the same tags'' names.';
comment on column export.messages.content is 'Content: content, only where the content policy allows (default twitter: TWITTER medium only; all; none); always empty in a scheduled export.';
comment on column export.messages.conversation_url is 'Conversation URL.';
comment on column export.messages.post_url is 'Post URL: post_url.';
comment on column export.messages.last_updated is 'Last Updated: message updated_at, else created_at.';
comment on column export.messages.deleted_at is 'Deleted at: deleted_at.';
comment on column export.messages.previous_message_id is 'Previous Message ID: the message just before it in the same conversation (by created at, then id; deleted ones included).';
comment on column export.messages.time_since_previous_message is 'Time Since Previous Message (s): created at - previous message''s created at.';
comment on column export.messages.sentiment is 'Sentiment: message sentiment, else the conversation''s.';
