-- facts.presences_as_of(T)
--
-- Grain: one row per presence interval of a human agent (an agent loaded with kind HUMAN), read
-- at T: an ongoing interval runs to T (effective_ended_at).

create function facts.presences_as_of(as_of timestamptz)
returns table (
    presence_id        text,
    agent_id           text,
    presence_type      text,
    away_state         text,
    started_at         timestamptz,
    ended_at           timestamptz,
    effective_ended_at timestamptz
)
language sql stable parallel safe
as $$
    select
        p.presence_id,
        p.agent_id,
        p.presence_type,
        p.away_state,
        p.started_at,
        p.ended_at,
        coalesce(p.ended_at, as_of) as effective_ended_at
    from inbox.presences as p
    inner join inbox.agents as a
        on a.agent_id = p.agent_id
       and a.kind = 'HUMAN'
$$;
comment on function facts.presences_as_of(timestamptz) is
'Every presence interval of a human agent read at T: effective end (ended_at, else T).';

-- The presence intervals of human agents that overlap the range R = [range_start, range_end),
-- read at T (empty intervals overlap nothing: facts.overlaps), with their part inside R.
-- Candidates come through the ended_at index: ended after R starts, or ongoing.
create function facts.presences_within(range_start timestamptz, range_end timestamptz, as_of timestamptz)
returns table (
    presence_id        text,
    agent_id           text,
    presence_type      text,
    away_state         text,
    started_at         timestamptz,
    ended_at           timestamptz,
    effective_ended_at timestamptz,
    clipped_seconds    numeric
)
language sql stable parallel safe
as $$
    select
        p.presence_id,
        p.agent_id,
        p.presence_type,
        p.away_state,
        p.started_at,
        p.ended_at,
        p.effective_ended_at,
        facts.clipped_seconds(p.started_at, p.effective_ended_at, range_start, range_end)
    from facts.presences_as_of(as_of) as p
    where (p.ended_at > range_start or p.ended_at is null)
      and p.started_at < range_end
      and facts.overlaps(p.started_at, p.effective_ended_at, range_start, range_end)
$$;
comment on function facts.presences_within(timestamptz, timestamptz, timestamptz) is
'The presence intervals of human agents overlapping [range_start, range_end) read at T, with the exact seconds inside the range.';
