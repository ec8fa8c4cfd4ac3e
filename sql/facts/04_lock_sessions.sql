-- facts.lock_sessions (table, kept by the loader)
--
-- Grain: one row per lock (inbox.locks), with its owner (agent, team), its conversation's channel
-- and the two inputs of its class that do not depend on the as-of moment T:
--   first_own_outbound_at  the earliest non-deleted outbound message (facts.outbound_messages) by
--                          the lock's agent in the conversation at or after the session's start;
--   first_own_resolve_at   the earliest RESOLVED status change by that agent in the conversation
--                          at or after the session's start.
-- The session's end (ended_at, else T), class and length are read at T by
-- facts.lock_sessions_as_of(T). Depends on the conversation's locks, messages, status changes
-- and its record (channel); refreshed per conversation.

create table facts.lock_sessions (
    lock_id               text primary key,
    conversation_id       text not null,
    agent_id              text not null,
    team_id               text,
    channel_id            text,
    started_at            timestamptz not null,
    ended_at              timestamptz,
    first_own_outbound_at timestamptz,
    first_own_resolve_at  timestamptz
);
create index lock_sessions_conversation_id_idx on facts.lock_sessions (conversation_id);
create index lock_sessions_started_at_idx on facts.lock_sessions (started_at);
create index lock_sessions_ended_at_idx on facts.lock_sessions (ended_at);

comment on table facts.lock_sessions is
'One row per lock session with its owner, its conversation''s channel and the T-independent inputs of its class.';
comment on column facts.lock_sessions.channel_id is 'The conversation''s channel; null when the conversation is not loaded.';
comment on column facts.lock_sessions.first_own_outbound_at is 'Earliest non-deleted outbound message by the lock''s agent in the conversation at or after started_at.';
comment on column facts.lock_sessions.first_own_resolve_at is 'Earliest RESOLVED status change by the lock''s agent in the conversation at or after started_at.';

-- The rows of the given conversations, read per conversation through the indexes on
-- conversation_id (laterals with `offset 0`, which the planner cannot turn into a hash join over
-- the whole table): the cost follows the number of conversations asked for.
create function facts.compute_lock_sessions(conversation_ids text[])
returns setof facts.lock_sessions
language sql stable
as $$
    select
        l.lock_id,
        l.conversation_id,
        l.agent_id,
        l.team_id,
        c.channel_id,
        l.started_at,
        l.ended_at,
        (
            select min(o.created_at)
            from facts.outbound_messages as o
            where o.conversation_id = l.conversation_id
              and o.agent_id = l.agent_id
              and o.created_at >= l.started_at
        ) as first_own_outbound_at,
        (
            select min(s.changed_at)
            from inbox.status_changes as s
            where s.conversation_id = l.conversation_id
              and s.agent_id = l.agent_id
              and s.status = 'RESOLVED'
              and s.changed_at >= l.started_at
        ) as first_own_resolve_at
    from (select distinct u.conversation_id from unnest(conversation_ids) as u(conversation_id)) as k
    cross join lateral (
        select l.*
        from inbox.locks as l
        where l.conversation_id = k.conversation_id
        offset 0
    ) as l
    left join lateral (
        select c.channel_id
        from inbox.conversations as c
        where c.conversation_id = k.conversation_id
        offset 0
    ) as c on true
$$;
comment on function facts.compute_lock_sessions(text[]) is
'The facts.lock_sessions rows of the given conversations, computed from the loaded tables.';

-- Lock sessions read at T: an ongoing session runs to T; class and whole length (exact
-- seconds, 0 when it ends before it starts). With a null T, ongoing sessions have a null end,
-- class and length (closed sessions do not depend on T).
create function facts.lock_sessions_as_of(as_of timestamptz)
returns table (
    lock_id            text,
    conversation_id    text,
    agent_id           text,
    team_id            text,
    channel_id         text,
    started_at         timestamptz,
    ended_at           timestamptz,
    effective_ended_at timestamptz,
    lock_class         text,
    session_seconds    numeric
)
language sql stable parallel safe
as $$
    select
        ls.lock_id,
        ls.conversation_id,
        ls.agent_id,
        ls.team_id,
        ls.channel_id,
        ls.started_at,
        ls.ended_at,
        coalesce(ls.ended_at, as_of) as effective_ended_at,
        case when coalesce(ls.ended_at, as_of) is not null
             then facts.lock_class(ls.first_own_outbound_at, ls.first_own_resolve_at, coalesce(ls.ended_at, as_of))
        end as lock_class,
        facts.interval_seconds(ls.started_at, coalesce(ls.ended_at, as_of)) as session_seconds
    from facts.lock_sessions as ls
$$;
comment on function facts.lock_sessions_as_of(timestamptz) is
'Every lock session read at T: effective end (ended_at, else T), class (HANDLING, NO_REPLY, CHERRY_PICKING) decided on the whole session, and whole length in exact seconds.';

-- Per conversation: the lock time of each class (sums of whole session lengths), read at T, and
-- whether the conversation has an ongoing lock (then the sums depend on T). A null T sums the
-- closed sessions only.
create function facts.conversation_lock_times(as_of timestamptz)
returns table (
    conversation_id        text,
    handling_seconds       numeric,
    no_reply_seconds       numeric,
    cherry_picking_seconds numeric,
    has_ongoing_lock       boolean
)
language sql stable parallel safe
as $$
    select
        ls.conversation_id,
        coalesce(sum(ls.session_seconds) filter (where ls.lock_class = 'HANDLING'), 0) as handling_seconds,
        coalesce(sum(ls.session_seconds) filter (where ls.lock_class = 'NO_REPLY'), 0) as no_reply_seconds,
        coalesce(sum(ls.session_seconds) filter (where ls.lock_class = 'CHERRY_PICKING'), 0) as cherry_picking_seconds,
        bool_or(ls.ended_at is null) as has_ongoing_lock
    from facts.lock_sessions_as_of(as_of) as ls
    group by ls.conversation_id
$$;
comment on function facts.conversation_lock_times(timestamptz) is
'Per conversation with locks: handling, no-reply and cherry-picking time (sums of whole session lengths, exact seconds) read at T, and whether a lock is still held.';

-- The lock sessions that overlap the range R = [range_start, range_end), read at T (empty
-- sessions overlap nothing: facts.overlaps), with the part of each inside R in its class's
-- column (agent and team figures clip every session to R). Candidates come through the ended_at
-- index: ended after R starts, or still held.
create function facts.lock_sessions_within(range_start timestamptz, range_end timestamptz, as_of timestamptz)
returns table (
    lock_id                        text,
    conversation_id                text,
    agent_id                       text,
    team_id                        text,
    channel_id                     text,
    lock_class                     text,
    handling_clipped_seconds       numeric,
    no_reply_clipped_seconds       numeric,
    cherry_picking_clipped_seconds numeric
)
language sql stable parallel safe
as $$
    select
        ls.lock_id,
        ls.conversation_id,
        ls.agent_id,
        ls.team_id,
        ls.channel_id,
        ls.lock_class,
        case when ls.lock_class = 'HANDLING'
             then facts.clipped_seconds(ls.started_at, ls.effective_ended_at, range_start, range_end) else 0 end,
        case when ls.lock_class = 'NO_REPLY'
             then facts.clipped_seconds(ls.started_at, ls.effective_ended_at, range_start, range_end) else 0 end,
        case when ls.lock_class = 'CHERRY_PICKING'
             then facts.clipped_seconds(ls.started_at, ls.effective_ended_at, range_start, range_end) else 0 end
    from facts.lock_sessions_as_of(as_of) as ls
    where (ls.ended_at > range_start or ls.ended_at is null)
      and ls.started_at < range_end
      and facts.overlaps(ls.started_at, ls.effective_ended_at, range_start, range_end)
$$;
comment on function facts.lock_sessions_within(timestamptz, timestamptz, timestamptz) is
'The lock sessions overlapping [range_start, range_end) read at T, with their class and the exact seconds inside the range in that class''s column (0 in the others).';
