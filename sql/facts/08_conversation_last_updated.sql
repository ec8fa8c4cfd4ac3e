-- facts.conversation_last_updated(T)
--
-- Grain: one row per conversation with a record timestamp at or before T: Last Updated, the latest
-- timestamp at or before T of any record about the conversation: its own updated_at and
-- created_at, its messages' created_at / updated_at / deleted_at (deleted messages included),
-- its status changes, its topic applications' applied_at / removed_at and its surveys' sent_at /
-- responded_at. facts.conversations stores it at T = infinity (the latest of them all): for any
-- T at or after that, it is the value at T.

create function facts.conversation_last_updated(as_of timestamptz)
returns table (conversation_id text, last_updated_at timestamptz)
language sql stable parallel safe
as $$
    select u.conversation_id, max(u.at) as last_updated_at
    from (
        select c.conversation_id, v.at
        from inbox.conversations as c
        cross join lateral (values (c.updated_at), (c.created_at)) as v(at)

        union all

        select m.conversation_id, v.at
        from inbox.messages as m
        cross join lateral (values (m.created_at), (m.updated_at), (m.deleted_at)) as v(at)

        union all

        select s.conversation_id, s.changed_at
        from inbox.status_changes as s

        union all

        select ta.conversation_id, v.at
        from inbox.topic_applications as ta
        cross join lateral (values (ta.applied_at), (ta.removed_at)) as v(at)

        union all

        select cs.conversation_id, v.at
        from inbox.csat_surveys as cs
        cross join lateral (values (cs.sent_at), (cs.responded_at)) as v(at)
    ) as u
    where u.at <= as_of
    group by u.conversation_id
$$;
comment on function facts.conversation_last_updated(timestamptz) is
'Per conversation: Last Updated at T, the latest timestamp at or before T of any record about it (conversation, messages, status changes, topic applications and removals, surveys).';
