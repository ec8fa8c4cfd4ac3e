-- facts.message_tags (table, kept by the loader)
--
-- Grain: one row per (message, tag) with at least one tag application, over all its applications
-- (removed ones included; applications on deleted messages included, as the messages export
-- lists them):
--   message_created_at  the message's created_at (null when the message is not loaded), so that
--                       an export reads the tags of just the messages of its range;
--   first_applied_at    the earliest application (the order of multi-valued cells);
--   current_during      the instants T at which the message carries the tag (current at T is
--                       `current_during @> T`).
-- Depends on the message's tag applications and its created_at; refreshed per message.

create table facts.message_tags (
    message_id         text not null,
    tag_id             text not null,
    message_created_at timestamptz,
    first_applied_at   timestamptz not null,
    current_during     tstzmultirange not null,
    primary key (message_id, tag_id)
);
create index message_tags_message_created_at_idx on facts.message_tags (message_created_at);

comment on table facts.message_tags is
'One row per (message, tag) ever applied: the message''s created_at, the earliest application and the instants at which the tag is current.';
comment on column facts.message_tags.current_during is 'Instants T at which the message carries the tag: current at T is current_during @> T.';

create function facts.compute_message_tags(message_ids text[])
returns setof facts.message_tags
language sql stable
as $$
    select
        ta.message_id,
        ta.tag_id,
        min(m.created_at) as message_created_at,
        min(ta.applied_at) as first_applied_at,
        range_agg(facts.application_period(ta.applied_at, ta.removed_at)) as current_during
    from (select distinct unnest(message_ids) as message_id) as k
    inner join inbox.tag_applications as ta
        on ta.message_id = k.message_id
    left join inbox.messages as m
        on m.message_id = ta.message_id
    group by ta.message_id, ta.tag_id
$$;
comment on function facts.compute_message_tags(text[]) is
'The facts.message_tags rows of the given messages.';

-- Current tags at T of each message created in [created_from, created_to), as the multi-valued
-- cells list them (see facts.topic_cells). The range is read through message_created_at's index;
-- the rows are grouped by message id alone, so the planner knows the id is unique and hashes these
-- few rows, not the messages they are joined to.
create function facts.tag_cells(as_of timestamptz, created_from timestamptz, created_to timestamptz)
returns table (message_id text, tag_ids text[], tag_names text[])
language sql stable parallel safe
as $$
    select
        mt.message_id,
        array_agg(mt.tag_id order by mt.first_applied_at, mt.tag_id collate "C") as tag_ids,
        array_agg(coalesce(t.name, '') order by mt.first_applied_at, mt.tag_id collate "C") as tag_names
    from facts.message_tags as mt
    left join inbox.tags as t
        on t.tag_id = mt.tag_id
    where mt.current_during @> as_of
      and mt.message_created_at >= created_from
      and mt.message_created_at < created_to
    group by mt.message_id
$$;
comment on function facts.tag_cells(timestamptz, timestamptz, timestamptz) is
'Per message created in [created_from, created_to) with a tag current at T: the tag ids and names in cell order (earliest application, then id).';
