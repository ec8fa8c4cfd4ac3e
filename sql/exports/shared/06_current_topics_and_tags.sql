-- current topics of a conversation and current tags of a message, as `;`-joined cells.
--
-- "Not removed at T": removed_at is null or later than T (exports.md, "Precise readings"); the
-- application date itself is not compared with T. The cell lists the distinct items with at least
-- one such application, ordered by each item's earliest application to that conversation
-- (message) over ALL its applications, removed ones included, then by the item's id (C
-- collation); ids and names list the same items in the same order. An item whose topic/tag
-- record is missing contributes an empty part to the names cell (`Billing;`), so positions still
-- match; no items gives null (an empty cell).

create function export.current_topics(target_conversation_id text)
returns table (topic_ids text, topic_names text)
language sql stable parallel safe
as $$
    with current_applications as (
        select ta.topic_id, min(ta.applied_at) as first_applied_at
        from inbox.topic_applications as ta
        where ta.conversation_id = target_conversation_id
        group by ta.topic_id
        having bool_or(ta.removed_at is null or ta.removed_at > export.as_of())
    )

    select
        string_agg(ca.topic_id, ';' order by ca.first_applied_at, ca.topic_id collate "C") as topic_ids,
        string_agg(coalesce(t.name, ''), ';' order by ca.first_applied_at, ca.topic_id collate "C") as topic_names
    from current_applications as ca
    left join inbox.topics as t
        on t.topic_id = ca.topic_id
$$;
comment on function export.current_topics(text) is
'Current topics of a conversation (applications not removed at T), ids and names joined with ";" in order of earliest application then id; always one row (nulls when none).';

create function export.current_tags(target_message_id text)
returns table (tag_ids text, tag_names text)
language sql stable parallel safe
as $$
    with current_applications as (
        select ta.tag_id, min(ta.applied_at) as first_applied_at
        from inbox.tag_applications as ta
        where ta.message_id = target_message_id
        group by ta.tag_id
        having bool_or(ta.removed_at is null or ta.removed_at > export.as_of())
    )

    select
        string_agg(ca.tag_id, ';' order by ca.first_applied_at, ca.tag_id collate "C") as tag_ids,
        string_agg(coalesce(t.name, ''), ';' order by ca.first_applied_at, ca.tag_id collate "C") as tag_names
    from current_applications as ca
    left join inbox.tags as t
        on t.tag_id = ca.tag_id
$$;
comment on function export.current_tags(text) is
'Tags applied to a message and not removed at T, ids and names joined with ";" in order of earliest application then id; always one row (nulls when none).';
