-- export.messages (`messages`)
--
-- Grain: one row per message (deleted ones included) created in R, in a conversation of the
-- selected channels (a message of a conversation that is not loaded is listed, with empty
-- conversation columns, only when no channel filter is given).
-- Order: created at, then message id.
--
-- Plan (set-based, no per-message function call):
--   * the messages of R (messages.created_at range) are joined once to their conversation's
--     descriptive columns (conversation, channel, contact: one row per conversation);
--   * the previous message is lag() over the in-range messages of each conversation; a
--     conversation's first in-range message (no lag) takes the conversation's latest message
--     before R (messages.created_at below R, or per-conversation index lookups on
--     messages (conversation_id, created_at), whichever the planner finds cheaper);
--   * current tags are aggregated once for the tag applications of the messages of R;
--   * content_allowed is evaluated once per conversation, not per message.

create view export.messages as
with conversation_info as (
    select
        c.conversation_id,
        c.channel_id,
        c.contact_id,
        c.url as conversation_url,
        c.sentiment as conversation_sentiment,
        ch.medium,
        ch.name as channel_name,
        ch.display_name as channel_display_name,
        export.content_allowed(ch.medium) as is_content_allowed,
        ct.primary_identifier as contact_primary_identifier,
        ct.secondary_identifier as contact_secondary_identifier
    from inbox.conversations as c
    left join inbox.channels as ch
        on ch.channel_id = c.channel_id
    left join inbox.contacts as ct
        on ct.contact_id = c.contact_id
    where export.channel_selected(c.channel_id)
),
scoped as (
    select
        m.*,
        c.channel_id,
        c.contact_id,
        c.conversation_url,
        c.conversation_sentiment,
        c.medium,
        c.channel_name,
        c.channel_display_name,
        c.is_content_allowed,
        c.contact_primary_identifier,
        c.contact_secondary_identifier,
        lag(m.message_id) over w as lag_message_id,
        lag(m.created_at) over w as lag_created_at
    from inbox.messages as m
    left join conversation_info as c
        on c.conversation_id = m.conversation_id
    where m.created_at >= export.range_start()
      and m.created_at < export.range_end()
      and (c.conversation_id is not null or export.channel_selected(null))
    window w as (partition by m.conversation_id order by m.created_at, m.message_id collate "C")
),
-- the latest message before R of each conversation with messages in R: the previous message of
-- the conversation's first message in R (no lag). Every message of the conversation that comes
-- before that first one (by created at, then id) lies before R, since those in R are in the
-- window; so the predecessor is the conversation's latest message before R.
before_range as (
    select distinct on (p.conversation_id)
        p.conversation_id,
        p.message_id,
        p.created_at
    from inbox.messages as p
    where p.created_at < export.range_start()
      and exists (
          select 1
          from inbox.messages as r
          where r.conversation_id = p.conversation_id
            and r.created_at >= export.range_start()
            and r.created_at < export.range_end()
      )
    order by p.conversation_id, p.created_at desc, p.message_id collate "C" desc
),

tag_cells as (
    select
        ca.message_id,
        string_agg(ca.tag_id, ';' order by ca.first_applied_at, ca.tag_id collate "C") as tag_ids,
        string_agg(coalesce(t.name, ''), ';' order by ca.first_applied_at, ca.tag_id collate "C") as tag_names
    from (
        select ta.message_id, ta.tag_id, min(ta.applied_at) as first_applied_at
        from inbox.tag_applications as ta
        inner join inbox.messages as tm
            on tm.message_id = ta.message_id
        where tm.created_at >= export.range_start()
          and tm.created_at < export.range_end()
        group by ta.message_id, ta.tag_id
        having bool_or(export.is_current_at_as_of(ta.applied_at, ta.removed_at))
    ) as ca
    left join inbox.tags as t
        on t.tag_id = ca.tag_id
    group by ca.message_id
)
select
    s.message_id,
    export.format_timestamp(s.created_at) as created_at,
    s.conversation_id,
    s.medium,
    s.channel_name as channel,
    s.channel_display_name,
    s.contact_id as contact_profile_id,
    s.contact_primary_identifier,
    s.contact_secondary_identifier,
    s.message_type,
    s.origin,
    s.outbound_type as outbound_message_type,
    s.direction,
    s.agent_id,
    a.name as agent_name,
    a.reference as agent_reference,
    s.team_id,
    t.name as team_name,
    s.system_user_type,
    tg.tag_ids,
    tg.tag_names,
    case when coalesce(s.is_content_allowed, (select export.content_allowed(null))) then s.content end as content,
    s.conversation_url,
    s.post_url,
    export.format_timestamp(coalesce(s.updated_at, s.created_at)) as last_updated,
    export.format_timestamp(s.deleted_at) as deleted_at,
    coalesce(s.lag_message_id, br.message_id) as previous_message_id,
    export.round_seconds(export.seconds_between(coalesce(s.lag_created_at, br.created_at), s.created_at)) as time_since_previous_message,
    coalesce(s.sentiment, s.conversation_sentiment) as sentiment
from scoped as s
left join inbox.agents as a
    on a.agent_id = s.agent_id
left join inbox.teams as t
    on t.team_id = s.team_id
left join tag_cells as tg
    on tg.message_id = s.message_id
left join before_range as br
    on br.conversation_id = s.conversation_id
   and s.lag_message_id is null
order by s.created_at, s.message_id collate "C";

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
