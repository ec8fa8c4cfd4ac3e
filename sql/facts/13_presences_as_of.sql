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
