-- export.messages (`messages`)
--
-- Grain: one row per message (deleted ones included) created in R, in a conversation of the
-- selected channels (a message of a conversation that is not loaded is listed, with empty
-- conversation columns, only when no channel filter is given).
-- Order: created at, then message id.
--
-- Plan: messages.created_at range scan; the previous message is an index lookup on
-- messages (conversation_id, created_at); tags come from tag_applications (message_id).

create view export.messages as
with scoped as (
    select
        m.*,
        c.channel_id,
        c.contact_id,
        c.url as conversation_url,
        c.sentiment as conversation_sentiment
    from inbox.messages as m
    left join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    where m.created_at >= export.range_start()
      and m.created_at < export.range_end()
      and export.channel_selected(c.channel_id)
),

detailed as (
    select
        s.*,
        ch.medium,
        ch.name as channel_name,
        ch.display_name as channel_display_name,
        ct.primary_identifier as contact_primary_identifier,
        ct.secondary_identifier as contact_secondary_identifier,
        a.name as agent_name,
        a.reference as agent_reference,
        t.name as team_name,
        tg.tag_ids,
        tg.tag_names,
        prev.message_id as previous_message_id,
        prev.created_at as previous_created_at
    from scoped as s
    left join inbox.channels as ch
        on ch.channel_id = s.channel_id
    left join inbox.contacts as ct
        on ct.contact_id = s.contact_id
    left join inbox.agents as a
        on a.agent_id = s.agent_id
    left join inbox.teams as t
        on t.team_id = s.team_id
    left join lateral export.current_tags(s.message_id) as tg on true
    left join lateral (
        select p.message_id, p.created_at
        from inbox.messages as p
        where p.conversation_id = s.conversation_id
          and p.created_at <= s.created_at
          and (p.created_at < s.created_at or p.message_id collate "C" < s.message_id collate "C")
        order by p.created_at desc, p.message_id collate "C" desc
        limit 1
    ) as prev on true
)

select
    d.message_id,
    export.format_timestamp(d.created_at) as created_at,
    d.conversation_id,
    d.medium,
    d.channel_name as channel,
    d.channel_display_name,
    d.contact_id as contact_profile_id,
    d.contact_primary_identifier,
    d.contact_secondary_identifier,
    d.message_type,
    d.origin,
    d.outbound_type as outbound_message_type,
    d.direction,
    d.agent_id,
    d.agent_name,
    d.agent_reference,
    d.team_id,
    d.team_name,
    d.system_user_type,
    d.tag_ids,
    d.tag_names,
    case when export.content_allowed(d.medium) then d.content end as content,
    d.conversation_url,
    d.post_url,
    export.format_timestamp(coalesce(d.updated_at, d.created_at)) as last_updated,
    export.format_timestamp(d.deleted_at) as deleted_at,
    d.previous_message_id,
    export.round_seconds(export.seconds_between(d.previous_created_at, d.created_at)) as time_since_previous_message,
    coalesce(d.sentiment, d.conversation_sentiment) as sentiment
from detailed as d
order by d.created_at, d.message_id collate "C";

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
