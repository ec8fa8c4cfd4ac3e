-- export.teams (`teams`)
--
-- Grain: one row per team_id carried by at least one non-deleted outbound message (human or
-- virtual author) created in R in a conversation of the selected channels, even when the team
-- record itself is missing. Order (the CSV view): team name (C collation, missing names last),
-- then team id. Team attribution is by the team_id carried on each event; the channel filter
-- applies to every figure (through the event's conversation).
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed), _between
-- (dates in a zone), the view (CSV cells for the session's parameters, through
-- export.rows_for_session). Every figure is one range scan over R of a fact relation, aggregated
-- by team_id: the scope (facts.outbound_messages, one exists per team id), replies and contacts
-- helped (export.reply_totals over facts.human_replies), resolves (facts.status_changes: with
-- reply, first resolution), first responses (facts.conversations), lock sessions overlapping R
-- with their class read at T (export.lock_time_totals over facts.lock_sessions_within), surveys
-- (facts.survey_responses), tag and topic applications.

create type export.teams_row as (
    created_at                     timestamptz,
    team_id                        text,
    team_name                      text,
    resolves_with_reply            bigint,
    resolves_without_reply         bigint,
    average_first_response_seconds bigint,
    average_first_response_time_calendar bigint,
    average_resolution_seconds     bigint,
    total_handling_seconds         bigint,
    total_no_reply_seconds         bigint,
    total_cherry_picking_seconds   bigint,
    average_handling_seconds       bigint,
    contacts_helped                bigint,
    csat_score_1                   bigint,
    csat_score_2                   bigint,
    csat_score_3                   bigint,
    csat_score_4                   bigint,
    csat_score_5                   bigint,
    tags_added                     bigint,
    topics_added                   bigint,
    replies                        bigint
);

create function export.teams_within(
    range_start timestamptz,
    range_end   timestamptz,
    as_of       timestamptz default now(),
    channel_ids text[] default null
)
returns setof export.teams_row
language sql stable parallel safe
as $$
    with recursive

    -- The teams that carry at least one outbound message in R: each team id found in the
    -- messages (a skip scan of the team_id index: one probe per team) that has one in R.
    message_team_ids as (
        select min(m.team_id) as team_id
        from inbox.messages as m
        where m.team_id is not null
        union all
        select (
            select min(m.team_id)
            from inbox.messages as m
            where m.team_id > t.team_id
        )
        from message_team_ids as t
        where t.team_id is not null
    ),

    team_scope as (
        select t.team_id
        from message_team_ids as t
        where t.team_id is not null
          and exists (
              select 1
              from facts.outbound_messages as o
              where o.team_id = t.team_id
                and o.created_at >= range_start
                and o.created_at < range_end
                and export.channel_matches(o.channel_id, channel_ids)
          )
    ),

    -- Replies and Contacts Helped, and the lock time figures below: per team, as agent-metrics
    -- has them per agent (sql/exports/shared/04_totals_per_key.sql).
    replies as (
        select rt.key as team_id, rt.replies as reply_count, rt.contacts_helped
        from export.reply_totals(range_start, range_end, channel_ids, 'team') as rt
    ),

    resolves as (
        select
            s.team_id,
            count(*) filter (where s.is_with_reply) as resolves_with_reply,
            count(*) filter (where not s.is_with_reply) as resolves_without_reply,
            avg(s.resolution_seconds) filter (where s.is_first_resolution) as average_resolution_seconds
        from facts.status_changes as s
        where s.changed_at >= range_start
          and s.changed_at < range_end
          and s.status = 'RESOLVED'
          and s.team_id is not null
          and export.channel_matches(s.channel_id, channel_ids)
        group by s.team_id
    ),

    first_responses as (
        select
            fc.first_response_team_id as team_id,
            avg(fc.first_response_seconds) as average_first_response_seconds,
            avg(fc.first_response_calendar_seconds) as average_first_response_time_calendar
        from facts.conversations as fc
        where fc.first_response_at >= range_start
          and fc.first_response_at < range_end
          and fc.first_response_team_id is not null
          and export.channel_matches(fc.channel_id, channel_ids)
        group by fc.first_response_team_id
    ),

    lock_times as (
        select
            lt.key as team_id, lt.handling_seconds, lt.no_reply_seconds, lt.cherry_picking_seconds,
            lt.handled_conversations
        from export.lock_time_totals(range_start, range_end, as_of, channel_ids, 'team') as lt
    ),

    surveys as (
        select
            cs.team_id,
            count(*) filter (where cs.completed_score = 1) as csat_score_1,
            count(*) filter (where cs.completed_score = 2) as csat_score_2,
            count(*) filter (where cs.completed_score = 3) as csat_score_3,
            count(*) filter (where cs.completed_score = 4) as csat_score_4,
            count(*) filter (where cs.completed_score = 5) as csat_score_5
        from facts.survey_responses as cs
        where cs.responded_at >= range_start
          and cs.responded_at < range_end
          and cs.team_id is not null
          and export.channel_matches(cs.channel_id, channel_ids)
        group by cs.team_id
    ),

    tags_added as (
        select ta.team_id, count(*) as tags_added
        from facts.tag_applications as ta
        where ta.applied_at >= range_start
          and ta.applied_at < range_end
          and ta.team_id is not null
          and export.channel_matches(ta.channel_id, channel_ids)
        group by ta.team_id
    ),

    topics_added as (
        select tp.team_id, count(*) as topics_added
        from facts.topic_applications as tp
        where tp.applied_at >= range_start
          and tp.applied_at < range_end
          and tp.team_id is not null
          and export.channel_matches(tp.channel_id, channel_ids)
        group by tp.team_id
    )

    select
        t.created_at,
        ts.team_id,
        t.name,
        coalesce(rv.resolves_with_reply, 0),
        coalesce(rv.resolves_without_reply, 0),
        export.round_seconds(fr.average_first_response_seconds),
        export.round_seconds(fr.average_first_response_time_calendar),
        export.round_seconds(rv.average_resolution_seconds),
        export.round_seconds(coalesce(lt.handling_seconds, 0)),
        export.round_seconds(coalesce(lt.no_reply_seconds, 0)),
        export.round_seconds(coalesce(lt.cherry_picking_seconds, 0)),
        export.round_seconds(lt.handling_seconds / nullif(lt.handled_conversations, 0)),
        coalesce(rp.contacts_helped, 0),
        coalesce(sv.csat_score_1, 0),
        coalesce(sv.csat_score_2, 0),
        coalesce(sv.csat_score_3, 0),
        coalesce(sv.csat_score_4, 0),
        coalesce(sv.csat_score_5, 0),
        coalesce(tg.tags_added, 0),
        coalesce(tp.topics_added, 0),
        coalesce(rp.reply_count, 0)::bigint
    from team_scope as ts
    left join inbox.teams as t
        on t.team_id = ts.team_id
    left join resolves as rv
        on rv.team_id = ts.team_id
    left join first_responses as fr
        on fr.team_id = ts.team_id
    left join lock_times as lt
        on lt.team_id = ts.team_id
    left join replies as rp
        on rp.team_id = ts.team_id
    left join surveys as sv
        on sv.team_id = ts.team_id
    left join tags_added as tg
        on tg.team_id = ts.team_id
    left join topics_added as tp
        on tp.team_id = ts.team_id
$$;
comment on function export.teams_within(timestamptz, timestamptz, timestamptz, text[]) is
'teams, typed: one row per team carried by at least one non-deleted outbound message created in [range_start, range_end) (channel filter: null = all); lock sessions read at as_of. Unordered.';

create function export.teams_between(
    from_date   date,
    to_date     date,
    time_zone   text default 'UTC',
    channel_ids text[] default null,
    as_of       timestamptz default now()
)
returns setof export.teams_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, is_range_required => true) as p
    cross join lateral export.teams_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids) as x
$$;
comment on function export.teams_between(date, date, text, text[], timestamptz) is
'teams, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.teams as
select
    export.format_timestamp(t.created_at) as created_at,
    t.team_id,
    t.team_name,
    t.resolves_with_reply,
    t.resolves_without_reply,
    t.average_first_response_seconds as average_first_response_time,
    t.average_resolution_seconds as average_resolution_time,
    t.total_handling_seconds as total_handling_time,
    t.total_no_reply_seconds as total_no_reply_time,
    t.total_cherry_picking_seconds as total_cherry_picking_time,
    t.average_handling_seconds as average_handling_time,
    t.contacts_helped,
    t.csat_score_1,
    t.csat_score_2,
    t.csat_score_3,
    t.csat_score_4,
    t.csat_score_5,
    t.tags_added,
    t.topics_added,
    t.replies
from export.rows_for_session(null::export.teams_row, 'teams_within') as t
order by t.team_name collate "C" nulls last, t.team_id collate "C";

comment on view export.teams is
'teams: one row per team carried by at least one non-deleted outbound message created in R (channel filter applies to every figure). Order: team name, then id.';
comment on column export.teams.created_at is 'Created at: team created_at.';
comment on column export.teams.team_id is 'Team ID.';
comment on column export.teams.team_name is 'Team Name.';
comment on column export.teams.resolves_with_reply is 'Resolves With Reply: RESOLVED status changes in R with this team whose conversation had >= 1 non-deleted human outbound message at or before the change.';
comment on column export.teams.resolves_without_reply is 'Resolves Without Reply: the same changes whose conversation had none.';
comment on column export.teams.average_first_response_time is 'Average First Response Time (s): mean First Response Time (business time of each conversation''s channel; business-hours.md) of conversations whose first response lies in R and carries this team.';
comment on column export.teams.average_resolution_time is 'Average Resolution Time (s): mean Resolution Time of conversations whose first resolution lies in R and carries this team (non-empty values only).';
comment on column export.teams.total_handling_time is 'Total Handling Time (s): handling lock time of sessions carrying this team, clipped to R.';
comment on column export.teams.total_no_reply_time is 'Total No Reply Time (s): no-reply lock time, clipped to R.';
comment on column export.teams.total_cherry_picking_time is 'Total Cherry Picking Time (s): cherry-picking lock time, clipped to R.';
comment on column export.teams.average_handling_time is 'Average Handling Time (s): Total Handling Time / distinct conversations with a handling session of this team overlapping R; empty if none.';
comment on column export.teams.contacts_helped is 'Contacts Helped: distinct contacts whose conversation received >= 1 non-deleted human outbound message with this team in R.';
comment on column export.teams.csat_score_1 is 'CSAT Score 1: COMPLETED surveys with this team, responded_at in R, score 1.';
comment on column export.teams.csat_score_2 is 'CSAT Score 2: likewise, score 2.';
comment on column export.teams.csat_score_3 is 'CSAT Score 3: likewise, score 3.';
comment on column export.teams.csat_score_4 is 'CSAT Score 4: likewise, score 4.';
comment on column export.teams.csat_score_5 is 'CSAT Score 5: likewise, score 5.';
comment on column export.teams.tags_added is 'Tags Added: tag applications in R with this team (not on deleted messages).';
comment on column export.teams.topics_added is 'Topics Added: topic applications in R with this team.';
comment on column export.teams.replies is 'Replies: non-deleted human outbound messages in R with this team.';
