-- export.lock_sessions: one row per lock session, with its effective end and its class.
--
-- Grain: one row per inbox.locks row. A session L of agent A runs over
-- [started_at, coalesce(ended_at, T)], bounds included. Its class is decided on the whole session:
--   HANDLING        A wrote >= 1 non-deleted OUTBOUND message in the conversation within L;
--   NO_REPLY        else A resolved the conversation within L (a RESOLVED change with agent_id = A);
--   CHERRY_PICKING  otherwise.
-- The view has no aggregate, so PostgreSQL flattens it into the query that uses it: filters on
-- started_at / ended_at / conversation_id reach the locks indexes, and the two class tests run
-- only for the sessions an export keeps (index lookups on (conversation_id, created_at) and
-- (conversation_id, changed_at)).
--
-- session_seconds is the whole session length (never negative: an ongoing session that starts
-- after T counts 0); agent and team figures clip with export.clipped_seconds(started_at,
-- effective_ended_at) instead.

create view export.lock_sessions as
with sessions as (
    select
        l.lock_id,
        l.conversation_id,
        l.agent_id,
        l.team_id,
        l.started_at,
        l.ended_at,
        coalesce(l.ended_at, export.as_of()) as effective_ended_at
    from inbox.locks as l
)

select
    s.lock_id,
    s.conversation_id,
    s.agent_id,
    s.team_id,
    s.started_at,
    s.ended_at,
    s.effective_ended_at,
    greatest(0::numeric, export.seconds_between(s.started_at, s.effective_ended_at)) as session_seconds,
    case
        when exists (
            select 1
            from inbox.messages as m
            where m.conversation_id = s.conversation_id
              and m.agent_id = s.agent_id
              and m.direction = 'OUTBOUND'
              and m.deleted_at is null
              and m.created_at >= s.started_at
              and m.created_at <= s.effective_ended_at
        ) then 'HANDLING'
        when exists (
            select 1
            from inbox.status_changes as sc
            where sc.conversation_id = s.conversation_id
              and sc.agent_id = s.agent_id
              and sc.status = 'RESOLVED'
              and sc.changed_at >= s.started_at
              and sc.changed_at <= s.effective_ended_at
        ) then 'NO_REPLY'
        else 'CHERRY_PICKING'
    end as lock_class
from sessions as s;

comment on view export.lock_sessions is
'Helper: one row per lock session with its effective end (ended_at, else T), whole length in exact seconds and class '
'(HANDLING, NO_REPLY, CHERRY_PICKING) decided on the whole session, bounds included.';
comment on column export.lock_sessions.lock_id is 'Lock id.';
comment on column export.lock_sessions.conversation_id is 'Conversation the lock was held on.';
comment on column export.lock_sessions.agent_id is 'Agent A holding the lock.';
comment on column export.lock_sessions.team_id is 'Team carried by the lock.';
comment on column export.lock_sessions.started_at is 'Start of the session.';
comment on column export.lock_sessions.ended_at is 'End of the session; null while held.';
comment on column export.lock_sessions.effective_ended_at is 'ended_at, else T (an ongoing session runs to T).';
comment on column export.lock_sessions.session_seconds is 'Whole session length in exact seconds (0 if negative).';
comment on column export.lock_sessions.lock_class is
'HANDLING if A wrote a non-deleted outbound message in the conversation within the session; else NO_REPLY if A resolved it within the session; else CHERRY_PICKING.';

-- per-conversation lock times (whole sessions, unclipped): sums per class, 0 when none.
create function export.lock_times(target_conversation_id text)
returns table (handling_seconds numeric, no_reply_seconds numeric, cherry_picking_seconds numeric)
language sql stable parallel safe
as $$
    select
        coalesce(sum(ls.session_seconds) filter (where ls.lock_class = 'HANDLING'), 0) as handling_seconds,
        coalesce(sum(ls.session_seconds) filter (where ls.lock_class = 'NO_REPLY'), 0) as no_reply_seconds,
        coalesce(sum(ls.session_seconds) filter (where ls.lock_class = 'CHERRY_PICKING'), 0) as cherry_picking_seconds
    from export.lock_sessions as ls
    where ls.conversation_id = target_conversation_id
$$;
comment on function export.lock_times(text) is
'Handling, no-reply and cherry-picking lock time of a conversation (sums of whole session lengths per class, exact seconds, 0 if none); always one row.';
