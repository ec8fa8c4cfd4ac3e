-- facts.conversation_topics (table, kept by the loader)
--
-- Grain: one row per (conversation, topic) with at least one topic application, over all its
-- applications (removed ones included):
--   first_applied_at  the earliest application (the order of multi-valued cells);
--   current_during    the instants T at which the conversation carries the topic (the union of
--                     its applications' facts.application_period), so "current at T" is
--                     `current_during @> T`;
--   last_changed_at   the latest application or removal: from then on the topic's state is final.
-- Depends on the conversation's topic applications; refreshed per conversation.

create table facts.conversation_topics (
    conversation_id  text not null,
    topic_id         text not null,
    first_applied_at timestamptz not null,
    current_during   tstzmultirange not null,
    last_changed_at  timestamptz not null,
    primary key (conversation_id, topic_id)
);
create index conversation_topics_topic_id_idx on facts.conversation_topics (topic_id);

comment on table facts.conversation_topics is
'One row per (conversation, topic) ever applied: earliest application, the instants at which the topic is current, and the last application or removal.';
comment on column facts.conversation_topics.current_during is 'Instants T at which the conversation carries the topic: current at T is current_during @> T.';

create function facts.compute_conversation_topics(conversation_ids text[])
returns setof facts.conversation_topics
language sql stable
as $$
    select
        ta.conversation_id,
        ta.topic_id,
        min(ta.applied_at) as first_applied_at,
        range_agg(facts.application_period(ta.applied_at, ta.removed_at)) as current_during,
        greatest(max(ta.applied_at), max(ta.removed_at)) as last_changed_at
    from (select distinct unnest(conversation_ids) as conversation_id) as k
    inner join inbox.topic_applications as ta
        on ta.conversation_id = k.conversation_id
    group by ta.conversation_id, ta.topic_id
$$;
comment on function facts.compute_conversation_topics(text[]) is
'The facts.conversation_topics rows of the given conversations.';

-- Current topics of each conversation at T, as the multi-valued cells list them: distinct topics
-- current at T, ordered by their earliest application, then id (C collation); names in the same
-- order, empty for a topic whose record is not loaded. Conversations without a current topic
-- have no row.
create function facts.topic_cells(as_of timestamptz)
returns table (conversation_id text, topic_ids text[], topic_names text[])
language sql stable parallel safe
as $$
    select
        ct.conversation_id,
        array_agg(ct.topic_id order by ct.first_applied_at, ct.topic_id collate "C") as topic_ids,
        array_agg(coalesce(t.name, '') order by ct.first_applied_at, ct.topic_id collate "C") as topic_names
    from facts.conversation_topics as ct
    left join inbox.topics as t
        on t.topic_id = ct.topic_id
    where ct.current_during @> as_of
    group by ct.conversation_id
$$;
comment on function facts.topic_cells(timestamptz) is
'Per conversation with a topic current at T: the topic ids and names in cell order (earliest application, then id).';
