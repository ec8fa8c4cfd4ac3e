-- export.contacts (`contacts`)
--
-- Grain: one row per contact (the contact_id of a loaded conversation) with at least one
-- non-deleted message, either direction, created in R in its conversations of the selected
-- channels. Order: contact id.
--
-- Plan: messages.created_at range scan joined to conversations by primary key, grouped by the
-- conversation's contact.

create view export.contacts as
with messages_in_range as (
    select
        c.contact_id,
        m.conversation_id,
        m.direction,
        m.created_at
    from inbox.messages as m
    inner join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    where m.created_at >= export.range_start()
      and m.created_at < export.range_end()
      and m.deleted_at is null
      and export.channel_selected(c.channel_id)
),

per_contact as (
    select
        mr.contact_id,
        min(mr.created_at) filter (where mr.direction = 'INBOUND') as first_inbound_at,
        count(distinct mr.conversation_id) as conversation_count,
        count(*) filter (where mr.direction = 'INBOUND') as inbound_message_count,
        count(*) filter (where mr.direction = 'OUTBOUND') as outbound_message_count
    from messages_in_range as mr
    group by mr.contact_id
)

select
    pc.contact_id as contact_profile_id,
    ct.medium,
    ct.primary_identifier,
    ct.secondary_identifier,
    export.format_timestamp(pc.first_inbound_at) as created_at,
    pc.conversation_count,
    pc.inbound_message_count,
    pc.outbound_message_count,
    export.format_timestamp(coalesce(ct.updated_at, ct.created_at)) as last_updated
from per_contact as pc
left join inbox.contacts as ct
    on ct.contact_id = pc.contact_id
order by pc.contact_id collate "C";

comment on view export.contacts is
'contacts: one row per contact with at least one non-deleted message (either direction) created in R in its conversations of the selected channels. Order: contact id.';
comment on column export.contacts.contact_profile_id is 'Contact Profile ID.';
comment on column export.contacts.medium is 'Medium: contact medium.';
comment on column export.contacts.primary_identifier is 'Primary Identifier.';
comment on column export.contacts.secondary_identifier is 'Secondary Identifier.';
comment on column export.contacts.created_at is 'Created at: the earliest (non-deleted) inbound message in R in the contact''s conversations; empty if the contact sent none in R.';
comment on column export.contacts.conversation_count is 'Conversation Count: distinct conversations of the contact with >= 1 non-deleted message in R.';
comment on column export.contacts.inbound_message_count is 'Inbound Message Count: non-deleted inbound messages in R.';
comment on column export.contacts.outbound_message_count is 'Outbound Message Count: non-deleted outbound messages in R.';
comment on column export.contacts.last_updated is 'Last Updated: contact updated_at, else created_at.';
