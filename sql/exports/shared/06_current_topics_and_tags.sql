-- current topics of a conversation and current tags of a message, as `;`-joined cells.
--
-- State at T (exports.md, "Precise readings"): an application is current at T when it is dated at
-- or before T and not removed at T (removed_at is null or later than T; a removal at exactly T
-- counts). export.is_current_at_as_of is that rule, for every view that reads it ("current"
-- topics and tags, "still carry ... at T"). The cell lists the distinct items with at least
-- one current application, ordered by each item's earliest application to that conversation
-- (message) over ALL its applications, removed ones included, then by the item's id (C
-- collation); ids and names list the same items in the same order. An item whose topic/tag
-- record is missing contributes an empty part to the names cell (`Billing;`), so positions still
-- match; no items gives null (an empty cell).

create function export.is_current_at_as_of(applied_at timestamptz, removed_at timestamptz) returns boolean
language sql stable parallel safe
as $$ select applied_at <= export.as_of() and (removed_at is null or removed_at > export.as_of()) $$;
comment on function export.is_current_at_as_of(timestamptz, timestamptz) is
'Whether a topic or tag application is current at T: applied at or before T and not removed at T (removed_at null or later than T).';

create function export.current_topics(target_conversation_id text)
returns table (topic_ids text, topic_names text)
language sql stable parallel safe
as $$
    with current_applications as (
        select ta.topic_id, min(ta.applied_at) as first_applied_at
        from inbox.topic_applications as ta
        where ta.conversation_id = target_conversation_id
        group by ta.topic_id
        having bool_or(export.is_current_at_as_of(ta.applied_at, ta.removed_at))
    )

    select
        string_agg(ca.topic_id, ';' order by ca.first_applied_at, ca.topic_id collate "C") as topic_ids,
        string_agg(coalesce(t.name, ''), ';' order by ca.first_applied_at, ca.topic_id collate "C") as topic_names
    from current_applications as ca
    left join inbox.topics as t
        on t.topic_id = ca.topic_id
$$;
comment on function export.current_topics(text) is
'Current topics of a conversation (applications dated at or before T and not removed at T), ids and names joined with ";" in order of earliest application then id; always one row (nulls when none).';

create function export.current_tags(target_message_id text)
returns table (tag_ids text, tag_names text)
language sql stable parallel safe
as $$
    with current_applications as (
        select ta.tag_id, min(ta.applied_at) as first_applied_at
        from inbox.tag_applications as ta
        where ta.message_id = target_message_id
        group by ta.tag_id
        having bool_or(export.is_current_at_as_of(ta.applied_at, ta.removed_at))
    )

    select
        string_agg(ca.tag_id, ';' order by ca.first_applied_at, ca.tag_id collate "C") as tag_ids,
        string_agg(coalesce(t.name, ''), ';' order by ca.first_applied_at, ca.tag_id collate "C") as tag_names
    from current_applications as ca
    left join inbox.tags as t
        on t.tag_id = ca.tag_id
$$;
comment on function export.current_tags(text) is
'Tags applied to a message at or before T and not removed at T, ids and names joined with ";" in order of earliest application then id; always one row (nulls when none).';
