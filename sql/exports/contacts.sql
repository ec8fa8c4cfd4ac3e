-- export.contacts (`contacts`)
--
-- Grain: one row per contact (the contact_id of a loaded conversation) with at least one
-- non-deleted message, either direction, created in R in its conversations of the selected
-- channels. Order (the CSV view): contact id.
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed), _between
-- (dates in a zone), the view (CSV cells for the session's parameters).
-- Plan: the messages of R (created_at range scan) are counted per conversation first (a hash
-- aggregate of one row per conversation), then those rows are joined to their conversation and
-- summed per contact: no sort of the messages for a distinct count (half the server CPU of
-- grouping the messages by contact directly, on the benchmark month).

create type export.contacts_row as (
    contact_profile_id     text,
    medium                 text,
    primary_identifier     text,
    secondary_identifier   text,
    created_at             timestamptz,
    conversation_count     bigint,
    inbound_message_count  bigint,
    outbound_message_count bigint,
    last_updated_at        timestamptz
);

create function export.contacts_within(
    range_start timestamptz,
    range_end   timestamptz,
    as_of       timestamptz default now(),
    channel_ids text[] default null
)
returns setof export.contacts_row
language sql stable parallel safe
as $$
    with per_conversation as (
        select
            m.conversation_id,
            min(m.created_at) filter (where m.direction = 'INBOUND') as first_inbound_at,
            count(*) filter (where m.direction = 'INBOUND') as inbound_message_count,
            count(*) filter (where m.direction = 'OUTBOUND') as outbound_message_count
        from inbox.messages as m
        where m.created_at >= range_start
          and m.created_at < range_end
          and m.deleted_at is null
        group by m.conversation_id
    ),

    -- a contact's conversations with such a message are its per_conversation rows, so counting
    -- them needs no distinct count over the messages
    per_contact as (
        select
            c.contact_id,
            min(pc.first_inbound_at) as first_inbound_at,
            count(*) as conversation_count,
            sum(pc.inbound_message_count)::bigint as inbound_message_count,
            sum(pc.outbound_message_count)::bigint as outbound_message_count
        from per_conversation as pc
        inner join inbox.conversations as c
            on c.conversation_id = pc.conversation_id
        where export.channel_matches(c.channel_id, channel_ids)
        group by c.contact_id
    )

    select
        pc.contact_id,
        ct.medium,
        ct.primary_identifier,
        ct.secondary_identifier,
        pc.first_inbound_at,
        pc.conversation_count,
        pc.inbound_message_count,
        pc.outbound_message_count,
        coalesce(ct.updated_at, ct.created_at)
    from per_contact as pc
    left join inbox.contacts as ct
        on ct.contact_id = pc.contact_id
$$;
comment on function export.contacts_within(timestamptz, timestamptz, timestamptz, text[]) is
'contacts, typed: one row per contact with at least one non-deleted message created in [range_start, range_end) in its conversations (channel filter: null = all). Unordered; as_of is unused.';

create function export.contacts_between(
    from_date   date,
    to_date     date,
    time_zone   text default 'UTC',
    channel_ids text[] default null,
    as_of       timestamptz default now()
)
returns setof export.contacts_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, is_range_required => true) as p
    cross join lateral export.contacts_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids) as x
$$;
comment on function export.contacts_between(date, date, text, text[], timestamptz) is
'contacts, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.contacts as
select
    c.contact_profile_id,
    c.medium,
    c.primary_identifier,
    c.secondary_identifier,
    export.format_timestamp(c.created_at) as created_at,
    c.conversation_count,
    c.inbound_message_count,
    c.outbound_message_count,
    export.format_timestamp(c.last_updated_at) as last_updated
from export.rows_for_session(null::export.contacts_row, 'contacts_within') as c
order by c.contact_profile_id collate "C";

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
