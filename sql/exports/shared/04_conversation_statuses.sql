-- per-conversation status facts (exports.md, "Shared definitions").
--
-- Status changes are ordered by `changed_at`, then id (C collation). Each function is an
-- inlinable set-returning SQL function reading status_changes (conversation_id, changed_at).

-- first resolution: the earliest RESOLVED status change (not bounded by T).
create function export.first_resolution(target_conversation_id text)
returns setof inbox.status_changes
language sql stable parallel safe
as $$
    select s.*
    from inbox.status_changes as s
    where s.conversation_id = target_conversation_id
      and s.status = 'RESOLVED'
    order by s.changed_at, s.status_change_id collate "C"
    limit 1
$$;
comment on function export.first_resolution(text) is
'The conversation''s earliest RESOLVED status change (by changed_at, then id); no row if it was never resolved.';

-- latest resolution at or before a moment (open-conversations: the resolution before a reopen).
create function export.latest_resolution(target_conversation_id text, at_or_before timestamptz)
returns setof inbox.status_changes
language sql stable parallel safe
as $$
    select s.*
    from inbox.status_changes as s
    where s.conversation_id = target_conversation_id
      and s.status = 'RESOLVED'
      and s.changed_at <= at_or_before
    order by s.changed_at desc, s.status_change_id collate "C" desc
    limit 1
$$;
comment on function export.latest_resolution(text, timestamptz) is
'The conversation''s latest RESOLVED status change at or before at_or_before (by changed_at, then id); no row if none.';

-- current status: the status of the latest change at or before T; NEW if none.
create function export.current_status(target_conversation_id text)
returns table (status text)
language sql stable parallel safe
as $$
    select coalesce(
        (
            select s.status
            from inbox.status_changes as s
            where s.conversation_id = target_conversation_id
              and s.changed_at <= export.as_of()
            order by s.changed_at desc, s.status_change_id collate "C" desc
            limit 1
        ),
        'NEW'
    ) as status
$$;
comment on function export.current_status(text) is
'Status of the conversation''s latest status change at or before T (by changed_at, then id); NEW if none. Always one row.';

-- last status change: the latest change to PENDING or RESOLVED (not bounded by T, see
-- docs/decisions.md).
create function export.last_status_change(target_conversation_id text)
returns setof inbox.status_changes
language sql stable parallel safe
as $$
    select s.*
    from inbox.status_changes as s
    where s.conversation_id = target_conversation_id
      and s.status in ('PENDING', 'RESOLVED')
    order by s.changed_at desc, s.status_change_id collate "C" desc
    limit 1
$$;
comment on function export.last_status_change(text) is
'The conversation''s latest status change to PENDING or RESOLVED (by changed_at, then id; whole history); no row if none.';
