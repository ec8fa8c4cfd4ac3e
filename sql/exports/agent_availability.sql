-- export.agent_availability (`agent-availability`)
--
-- Grain: one row per presence interval of a human agent (an agent known with kind HUMAN) that
-- overlaps R (facts.presences_within; an ongoing interval runs to T), including
-- intervals that start or end outside R. An empty interval (ended_at <= started_at, or ongoing
-- and starting at or after T) makes no row. Rows are NOT clipped; not channel-filtered. Order (the CSV view): From,
-- then agent id, then interval id.
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed), _between
-- (dates in a zone), the view (CSV cells for the session's parameters).

create type export.agent_availability_row as (
    presence_id      text,
    user_id          text,
    user_name        text,
    user_email       text,
    type             text,
    away_state       text,
    from_at          timestamptz,
    to_at            timestamptz,
    duration_seconds bigint
);

create function export.agent_availability_within(
    range_start timestamptz,
    range_end   timestamptz,
    as_of       timestamptz default now()
)
returns setof export.agent_availability_row
language sql stable parallel safe
as $$
    select
        p.presence_id,
        p.agent_id,
        a.name,
        a.email,
        p.presence_type,
        p.away_state,
        p.started_at,
        p.ended_at,
        export.round_seconds(facts.interval_seconds(p.started_at, p.effective_ended_at))
    from facts.presences_within(range_start, range_end, as_of) as p
    inner join inbox.agents as a
        on a.agent_id = p.agent_id
$$;
comment on function export.agent_availability_within(timestamptz, timestamptz, timestamptz) is
'agent-availability, typed: one row per presence interval of a human agent overlapping [range_start, range_end) (an ongoing one runs to as_of), unclipped. Unordered.';

create function export.agent_availability_between(
    from_date date,
    to_date   date,
    time_zone text default 'UTC',
    as_of     timestamptz default now()
)
returns setof export.agent_availability_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, null, as_of, is_range_required => true) as p
    cross join lateral export.agent_availability_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of) as x
$$;
comment on function export.agent_availability_between(date, date, text, timestamptz) is
'agent-availability, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.agent_availability as
select
    a.user_id,
    a.user_name,
    a.user_email,
    a.type,
    a.away_state,
    export.format_timestamp(a.from_at) as from_at,
    export.format_timestamp(a.to_at) as to_at,
    a.duration_seconds as duration
from export.agent_availability_within(export.range_start(), export.range_end(), export.as_of()) as a
order by a.from_at, a.user_id collate "C", a.presence_id collate "C";

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
