-- export.agent_metrics (`agent-metrics`)
--
-- Grain: one row per human agent (known with kind HUMAN) with a presence interval overlapping R,
-- or any activity in R in a conversation of the selected channels: a non-deleted outbound
-- message it wrote, a lock session overlapping R, a status change, a tag application (not on a
-- deleted message) or topic application, or a survey response (responded_at in R) attributed to
-- it. Order (the CSV view): agent name (C collation), then id.
-- Lock sessions and presence are clipped to R (ongoing ones run to T); the channel filter
-- applies to conversation-based figures, not to presence.
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed), _between
-- (dates in a zone), the view (CSV cells for the session's parameters, through
-- export.rows_for_session). Each figure is one range scan over R of a fact relation aggregated
-- by agent_id: presence (facts.presences_within), outbound messages (a human agent's are its
-- human outbound messages: export.reply_totals), lock sessions with their class read at T
-- (export.lock_time_totals), status changes (facts.status_changes: with reply), tag and topic
-- applications, survey responses.

create type export.agent_metrics_row as (
    user_id                text,
    user_name              text,
    user_email             text,
    user_reference         text,
    available_seconds      bigint,
    away_seconds           bigint,
    contacts_helped        bigint,
    average_handling_seconds bigint,
    handling_seconds       bigint,
    no_reply_seconds       bigint,
    cherry_picking_seconds bigint,
    replies                bigint,
    resolves_with_reply    bigint,
    resolves_without_reply bigint,
    tags_added             bigint,
    topics_added           bigint,
    utilization_percent    numeric,
    csat_score_1           bigint,
    csat_score_2           bigint,
    csat_score_3           bigint,
    csat_score_4           bigint,
    csat_score_5           bigint
);

create function export.agent_metrics_within(
    range_start timestamptz,
    range_end   timestamptz,
    as_of       timestamptz default now(),
    channel_ids text[] default null
)
returns setof export.agent_metrics_row
language sql stable parallel safe
as $$
    with presence_times as (
        select
            p.agent_id,
            coalesce(sum(p.clipped_seconds) filter (where p.presence_type = 'AVAILABLE'), 0) as available_seconds,
            coalesce(sum(p.clipped_seconds) filter (where p.presence_type = 'AWAY'), 0) as away_seconds
        from facts.presences_within(range_start, range_end, as_of) as p
        group by p.agent_id
    ),

    -- Replies (an agent's outbound messages count for human agents only, the rows below being
    -- those of agents of kind HUMAN: its human replies) and Contacts Helped, and the lock time
    -- figures: per agent, as teams has them per team (sql/exports/shared/04_totals_per_key.sql).
    replies as (
        select rt.key as agent_id, rt.contacts_helped, rt.replies as outbound_count
        from export.reply_totals(range_start, range_end, channel_ids, 'agent') as rt
    ),

    lock_times as (
        select
            lt.key as agent_id, lt.handling_seconds, lt.no_reply_seconds, lt.cherry_picking_seconds,
            lt.handled_conversations
        from export.lock_time_totals(range_start, range_end, as_of, channel_ids, 'agent') as lt
    ),

    resolves as (
        select
            s.agent_id,
            count(*) filter (where s.status = 'RESOLVED' and s.is_with_reply) as resolves_with_reply,
            count(*) filter (where s.status = 'RESOLVED' and not s.is_with_reply) as resolves_without_reply
        from facts.status_changes as s
        where s.changed_at >= range_start
          and s.changed_at < range_end
          and s.agent_id is not null
          and export.channel_matches(s.channel_id, channel_ids)
        group by s.agent_id
    ),

    tags_added as (
        select ta.agent_id, count(*) as tags_added
        from facts.tag_applications as ta
        where ta.applied_at >= range_start
          and ta.applied_at < range_end
          and ta.agent_id is not null
          and export.channel_matches(ta.channel_id, channel_ids)
        group by ta.agent_id
    ),

    topics_added as (
        select tp.agent_id, count(*) as topics_added
        from facts.topic_applications as tp
        where tp.applied_at >= range_start
          and tp.applied_at < range_end
          and tp.agent_id is not null
          and export.channel_matches(tp.channel_id, channel_ids)
        group by tp.agent_id
    ),

    surveys as (
        select
            cs.agent_id,
            count(*) filter (where cs.completed_score = 1) as csat_score_1,
            count(*) filter (where cs.completed_score = 2) as csat_score_2,
            count(*) filter (where cs.completed_score = 3) as csat_score_3,
            count(*) filter (where cs.completed_score = 4) as csat_score_4,
            count(*) filter (where cs.completed_score = 5) as csat_score_5
        from facts.survey_responses as cs
        where cs.responded_at >= range_start
          and cs.responded_at < range_end
          and cs.agent_id is not null
          and export.channel_matches(cs.channel_id, channel_ids)
        group by cs.agent_id
    ),

    agent_scope as (
        select agent_id from presence_times
        union
        select agent_id from replies
        union
        select agent_id from lock_times
        union
        select agent_id from resolves
        union
        select agent_id from tags_added
        union
        select agent_id from topics_added
        union
        select agent_id from surveys
    )

    select
        a.agent_id,
        a.name,
        a.email,
        a.reference,
        export.round_seconds(coalesce(pt.available_seconds, 0)),
        export.round_seconds(coalesce(pt.away_seconds, 0)),
        coalesce(rp.contacts_helped, 0),
        export.round_seconds(lt.handling_seconds / nullif(lt.handled_conversations, 0)),
        export.round_seconds(coalesce(lt.handling_seconds, 0)),
        export.round_seconds(coalesce(lt.no_reply_seconds, 0)),
        export.round_seconds(coalesce(lt.cherry_picking_seconds, 0)),
        coalesce(rp.outbound_count, 0)::bigint,
        coalesce(sc.resolves_with_reply, 0),
        coalesce(sc.resolves_without_reply, 0),
        coalesce(tg.tags_added, 0),
        coalesce(tp.topics_added, 0),
        export.percent(
            coalesce(lt.handling_seconds, 0) + coalesce(lt.no_reply_seconds, 0) + coalesce(lt.cherry_picking_seconds, 0),
            coalesce(pt.available_seconds, 0)
        ),
        coalesce(sv.csat_score_1, 0),
        coalesce(sv.csat_score_2, 0),
        coalesce(sv.csat_score_3, 0),
        coalesce(sv.csat_score_4, 0),
        coalesce(sv.csat_score_5, 0)
    from agent_scope as s
    inner join inbox.agents as a
        on a.agent_id = s.agent_id
       and a.kind = 'HUMAN'
    left join presence_times as pt
        on pt.agent_id = s.agent_id
    left join replies as rp
        on rp.agent_id = s.agent_id
    left join lock_times as lt
        on lt.agent_id = s.agent_id
    left join resolves as sc
        on sc.agent_id = s.agent_id
    left join tags_added as tg
        on tg.agent_id = s.agent_id
    left join topics_added as tp
        on tp.agent_id = s.agent_id
    left join surveys as sv
        on sv.agent_id = s.agent_id
$$;
comment on function export.agent_metrics_within(timestamptz, timestamptz, timestamptz, text[]) is
'agent-metrics, typed: one row per human agent with presence overlapping [range_start, range_end) or activity in it (channel filter on conversation-based figures: null = all); ongoing intervals run to as_of. Unordered.';

create function export.agent_metrics_between(
    from_date   date,
    to_date     date,
    time_zone   text default 'UTC',
    channel_ids text[] default null,
    as_of       timestamptz default now()
)
returns setof export.agent_metrics_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, is_range_required => true) as p
    cross join lateral export.agent_metrics_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids) as x
$$;
comment on function export.agent_metrics_between(date, date, text, text[], timestamptz) is
'agent-metrics, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.agent_metrics as
select
    m.user_id,
    m.user_name,
    m.user_email,
    m.user_reference,
    m.available_seconds as available_time,
    m.away_seconds as away_time,
    m.contacts_helped,
    m.average_handling_seconds as average_handling_time,
    m.handling_seconds as handling_time,
    m.no_reply_seconds as no_reply_time,
    m.cherry_picking_seconds as cherry_picking_time,
    m.replies,
    m.resolves_with_reply,
    m.resolves_without_reply,
    m.tags_added,
    m.topics_added,
    m.utilization_percent,
    m.csat_score_1,
    m.csat_score_2,
    m.csat_score_3,
    m.csat_score_4,
    m.csat_score_5
from export.rows_for_session(null::export.agent_metrics_row, 'agent_metrics_within') as m
order by m.user_name collate "C", m.user_id collate "C";

comment on view export.agent_metrics is
'agent-metrics: one row per human agent with a presence interval overlapping R or any activity in R. Lock sessions and presence clipped to R; channel filter on conversation-based figures only. Order: agent name, then id.';
comment on column export.agent_metrics.user_id is 'User ID: agent id.';
comment on column export.agent_metrics.user_name is 'User Name.';
comment on column export.agent_metrics.user_email is 'User Email.';
comment on column export.agent_metrics.user_reference is 'User Reference: agent reference.';
comment on column export.agent_metrics.available_time is 'Available Time (s): AVAILABLE presence inside R (ongoing intervals run to T).';
comment on column export.agent_metrics.away_time is 'Away Time (s): AWAY presence inside R.';
comment on column export.agent_metrics.contacts_helped is 'Contacts Helped: distinct contacts whose conversation received >= 1 non-deleted outbound message from the agent in R.';
comment on column export.agent_metrics.average_handling_time is 'Average Handling Time (s): Handling Time / distinct conversations with a handling session of the agent overlapping R; empty if none.';
comment on column export.agent_metrics.handling_time is 'Handling Time (s): handling lock time of the agent inside R.';
comment on column export.agent_metrics.no_reply_time is 'No Reply Time (s): no-reply lock time inside R.';
comment on column export.agent_metrics.cherry_picking_time is 'Cherry Picking Time (s): cherry-picking lock time inside R.';
comment on column export.agent_metrics.replies is 'Replies: non-deleted outbound messages by the agent in R.';
comment on column export.agent_metrics.resolves_with_reply is 'Resolves With Reply: RESOLVED status changes by the agent in R whose conversation had >= 1 non-deleted human outbound message at or before the change.';
comment on column export.agent_metrics.resolves_without_reply is 'Resolves Without Reply: the same changes whose conversation had none.';
comment on column export.agent_metrics.tags_added is 'Tags Added: tag applications by the agent in R (not on deleted messages).';
comment on column export.agent_metrics.topics_added is 'Topics Added: topic applications by the agent in R.';
comment on column export.agent_metrics.utilization_percent is 'Utilization (%): (Handling + No Reply + Cherry Picking Time) / Available Time x 100, one decimal; empty if Available Time is 0.';
comment on column export.agent_metrics.csat_score_1 is 'CSAT Score 1: COMPLETED surveys attributed to the agent, responded_at in R, score 1.';
comment on column export.agent_metrics.csat_score_2 is 'CSAT Score 2: likewise, score 2.';
comment on column export.agent_metrics.csat_score_3 is 'CSAT Score 3: likewise, score 3.';
comment on column export.agent_metrics.csat_score_4 is 'CSAT Score 4: likewise, score 4.';
comment on column export.agent_metrics.csat_score_5 is 'CSAT Score 5: likewise, score 5.';
