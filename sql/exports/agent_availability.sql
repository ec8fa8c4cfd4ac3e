-- export.agent_availability (`agent-availability`)
--
-- Grain: one row per presence interval of a human agent (an agent known with kind HUMAN) that
-- overlaps R (export.overlaps_range: not empty, started_at < R end and coalesce(ended_at, T) >
-- R start; an ongoing interval runs to T), including intervals that start or end outside R. An
-- empty interval (ended_at <= started_at, or ongoing and starting at or after T) makes no row.
-- Rows are NOT clipped; not channel-filtered. Order: From, then agent id, then interval id.
--
-- Plan: presences.ended_at range scan (ended after R starts) or-ed with ongoing intervals, then
-- started_at < R end.

create view export.agent_availability as
with intervals as (
    select
        p.*,
        coalesce(p.ended_at, export.as_of()) as effective_ended_at
    from inbox.presences as p
    where (p.ended_at > export.range_start() or p.ended_at is null)
      and p.started_at < export.range_end()
),

overlapping as (
    select i.*
    from intervals as i
    where export.overlaps_range(i.started_at, i.effective_ended_at)
)

select
    o.agent_id as user_id,
    a.name as user_name,
    a.email as user_email,
    o.presence_type as type,
    o.away_state,
    export.format_timestamp(o.started_at) as from_at,
    export.format_timestamp(o.ended_at) as to_at,
    export.round_seconds(greatest(0::numeric, export.seconds_between(o.started_at, o.effective_ended_at))) as duration
from overlapping as o
inner join inbox.agents as a
    on a.agent_id = o.agent_id
   and a.kind = 'HUMAN'
order by o.started_at, o.agent_id collate "C", o.presence_id collate "C";

comment on view export.agent_availability is
'agent-availability: one row per presence interval of a human agent overlapping R (an ongoing one runs to T), unclipped, not channel-filtered. Order: From, then agent id, then interval id.';
comment on column export.agent_availability.user_id is 'User ID: agent id.';
comment on column export.agent_availability.user_name is 'User Name.';
comment on column export.agent_availability.user_email is 'User Email.';
comment on column export.agent_availability.type is 'Type: AVAILABLE or AWAY.';
comment on column export.agent_availability.away_state is 'Away State: away_state.';
comment on column export.agent_availability.from_at is 'From: started_at.';
comment on column export.agent_availability.to_at is 'To: ended_at; empty while ongoing.';
comment on column export.agent_availability.duration is 'Duration (s): (ended_at or T) - started_at, unclipped.';
