-- latest CSAT survey and Last Updated of a conversation.

-- latest survey: the survey with the latest sent_at, then the greatest id (C collation).
create function export.latest_survey(target_conversation_id text)
returns setof inbox.csat_surveys
language sql stable parallel safe
as $$
    select cs.*
    from inbox.csat_surveys as cs
    where cs.conversation_id = target_conversation_id
    order by cs.sent_at desc, cs.survey_id collate "C" desc
    limit 1
$$;
comment on function export.latest_survey(text) is
'The conversation''s CSAT survey with the latest sent_at (then id); no row if none.';

-- Last Updated: the latest timestamp at or before T among the conversation's own updated_at and
-- created_at, its messages' created_at / updated_at / deleted_at (deleted messages included),
-- its status changes, its topic applications' applied_at / removed_at and its surveys' sent_at /
-- responded_at. Null when none is at or before T.
create function export.last_updated_at(target_conversation_id text)
returns table (last_updated_at timestamptz)
language sql stable parallel safe
as $$
    with candidates as (
        select v.at
        from inbox.conversations as c
        cross join lateral (values (c.updated_at), (c.created_at)) as v(at)
        where c.conversation_id = target_conversation_id

        union all

        select v.at
        from inbox.messages as m
        cross join lateral (values (m.created_at), (m.updated_at), (m.deleted_at)) as v(at)
        where m.conversation_id = target_conversation_id

        union all

        select s.changed_at
        from inbox.status_changes as s
        where s.conversation_id = target_conversation_id

        union all

        select v.at
        from inbox.topic_applications as ta
        cross join lateral (values (ta.applied_at), (ta.removed_at)) as v(at)
        where ta.conversation_id = target_conversation_id

        union all

        select v.at
        from inbox.csat_surveys as cs
        cross join lateral (values (cs.sent_at), (cs.responded_at)) as v(at)
        where cs.conversation_id = target_conversation_id
    )

    select max(c.at) as last_updated_at
    from candidates as c
    where c.at <= export.as_of()
$$;
comment on function export.last_updated_at(text) is
'Last Updated: the latest timestamp at or before T of any record about the conversation (conversation, messages, status changes, topic applications and removals, surveys); always one row.';
