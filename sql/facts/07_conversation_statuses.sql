-- facts.conversation_statuses(T)
--
-- Grain: one row per conversation with a status change at or before T: the state at T
-- (exports.md, "current status"; the latest resolution in open-conversations). Status changes
-- are ordered by changed_at, then id (C collation).
--   status, status_changed_at            the latest change at or before T (a conversation
--                                        without one is NEW: facts.conversations_as_of);
--   latest_resolution_id, latest_resolved_at  the latest RESOLVED change at or before T.
-- facts.conversations stores it at T = infinity; from status_changed_at on it no longer changes.

create function facts.conversation_statuses(as_of timestamptz)
returns table (
    conversation_id      text,
    status               text,
    status_changed_at    timestamptz,
    latest_resolution_id text,
    latest_resolved_at   timestamptz
)
language sql stable parallel safe
as $$
    select
        s.conversation_id,
        (array_agg(s.status order by s.changed_at desc, s.status_change_id collate "C" desc))[1] as status,
        max(s.changed_at) as status_changed_at,
        (array_agg(s.status_change_id order by s.changed_at desc, s.status_change_id collate "C" desc)
            filter (where s.status = 'RESOLVED'))[1] as latest_resolution_id,
        max(s.changed_at) filter (where s.status = 'RESOLVED') as latest_resolved_at
    from inbox.status_changes as s
    where s.changed_at <= as_of
    group by s.conversation_id
$$;
comment on function facts.conversation_statuses(timestamptz) is
'Per conversation: status of the latest status change at or before T and its time, and the latest RESOLVED change at or before T (by changed_at, then id).';
