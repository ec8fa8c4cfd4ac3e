-- export.contact_attributes (`contact-attributes`)
--
-- Grain: one row per stored (contact, attribute) of every contact who wrote at least one
-- non-deleted inbound message in R in a loaded conversation of the selected channels.
-- Order: contact id, attribute name (C collation), attribute id.
--
-- Plan: messages.created_at range scan for the inbound messages in R, distinct contacts, then
-- contact_attributes by its primary key (contact_id, attribute_id).

create view export.contact_attributes as
with active_contacts as (
    select distinct c.contact_id
    from inbox.messages as m
    inner join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    where m.created_at >= export.range_start()
      and m.created_at < export.range_end()
      and m.direction = 'INBOUND'
      and m.deleted_at is null
      and export.channel_selected(c.channel_id)
)

select
    ac.contact_id as contact_profile_id,
    ct.primary_identifier as contact_primary_identifier,
    ct.secondary_identifier as contact_secondary_identifier,
    ca.attribute_id,
    ca.name as attribute_name,
    ca.value as attribute_value,
    ca.attribute_type
from active_contacts as ac
inner join inbox.contact_attributes as ca
    on ca.contact_id = ac.contact_id
left join inbox.contacts as ct
    on ct.contact_id = ac.contact_id
order by ac.contact_id collate "C", ca.name collate "C", ca.attribute_id collate "C";

comment on view export.contact_attributes is
'contact-attributes: one row per stored attribute of every contact who wrote at least one non-deleted inbound message in R in a conversation of the selected channels. Order: contact id, attribute name, attribute id.';
comment on column export.contact_attributes.contact_profile_id is 'Contact Profile ID.';
comment on column export.contact_attributes.contact_primary_identifier is 'Contact Primary Identifier.';
comment on column export.contact_attributes.contact_secondary_identifier is 'Contact Secondary Identifier.';
comment on column export.contact_attributes.attribute_id is 'Attribute ID.';
comment on column export.contact_attributes.attribute_name is 'Attribute Name.';
comment on column export.contact_attributes.attribute_value is 'Attribute Value.';
comment on column export.contact_attributes.attribute_type is 'Attribute Type.';
