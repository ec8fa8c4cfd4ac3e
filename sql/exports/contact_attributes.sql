-- export.contact_attributes (`contact-attributes`)
--
-- Grain: one row per stored (contact, attribute) of every contact who wrote at least one
-- non-deleted inbound message in R in a loaded conversation of the selected channels.
-- Order (the CSV view): contact id, attribute name (C collation), attribute id.
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed), _between
-- (dates in a zone), the view (CSV cells for the session's parameters).
-- Plan: messages.created_at range scan for the inbound messages in R, distinct contacts, then
-- contact_attributes by its primary key (contact_id, attribute_id).

create type export.contact_attributes_row as (
    contact_profile_id           text,
    contact_primary_identifier   text,
    contact_secondary_identifier text,
    attribute_id                 text,
    attribute_name               text,
    attribute_value              text,
    attribute_type               text
);

create function export.contact_attributes_within(
    range_start timestamptz,
    range_end   timestamptz,
    as_of       timestamptz default now(),
    channel_ids text[] default null
)
returns setof export.contact_attributes_row
language sql stable parallel safe
as $$
    with active_contacts as (
        select distinct c.contact_id
        from inbox.messages as m
        inner join inbox.conversations as c
            on c.conversation_id = m.conversation_id
        where m.created_at >= range_start
          and m.created_at < range_end
          and m.direction = 'INBOUND'
          and m.deleted_at is null
          and export.channel_matches(c.channel_id, channel_ids)
    )

    select
        ac.contact_id,
        ct.primary_identifier,
        ct.secondary_identifier,
        ca.attribute_id,
        ca.name,
        ca.value,
        ca.attribute_type
    from active_contacts as ac
    inner join inbox.contact_attributes as ca
        on ca.contact_id = ac.contact_id
    left join inbox.contacts as ct
        on ct.contact_id = ac.contact_id
$$;
comment on function export.contact_attributes_within(timestamptz, timestamptz, timestamptz, text[]) is
'contact-attributes, typed: one row per stored attribute of every contact who wrote a non-deleted inbound message in [range_start, range_end) (channel filter: null = all). Unordered; as_of is unused.';

create function export.contact_attributes_between(
    from_date   date,
    to_date     date,
    time_zone   text default 'UTC',
    channel_ids text[] default null,
    as_of       timestamptz default now()
)
returns setof export.contact_attributes_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, is_range_required => true) as p
    cross join lateral export.contact_attributes_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids) as x
$$;
comment on function export.contact_attributes_between(date, date, text, text[], timestamptz) is
'contact-attributes, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.contact_attributes as
select
    a.contact_profile_id,
    a.contact_primary_identifier,
    a.contact_secondary_identifier,
    a.attribute_id,
    a.attribute_name,
    a.attribute_value,
    a.attribute_type
from export.rows_for_session(null::export.contact_attributes_row, 'contact_attributes_within') as a
order by a.contact_profile_id collate "C", a.attribute_name collate "C", a.attribute_id collate "C";

comment on view export.contact_attributes is
'contact-attributes: one row per stored attribute of every contact who wrote at least one non-deleted inbound message in R in a conversation of the selected channels. Order: contact id, attribute name, attribute id.';
comment on column export.contact_attributes.contact_profile_id is 'Contact Profile ID.';
comment on column export.contact_attributes.contact_primary_identifier is 'Contact Primary Identifier.';
comment on column export.contact_attributes.contact_secondary_identifier is 'Contact Secondary Identifier.';
comment on column export.contact_attributes.attribute_id is 'Attribute ID.';
comment on column export.contact_attributes.attribute_name is 'Attribute Name.';
comment on column export.contact_attributes.attribute_value is 'Attribute Value.';
comment on column export.contact_attributes.attribute_type is 'Attribute Type.';
