-- export.teams (`teams`)
--
-- Grain: one row per team_id carried by at least one non-deleted outbound message (human or
-- virtual author) created in R in a conversation of the selected channels, even when the team
-- record itself is missing. Order: team name (C collation, missing names last), then team id.
-- Team attribution is by the team_id carried on each event; the channel filter applies to
-- every figure (through the event's conversation).
--
-- Plan (set-based): every figure is one range scan over R of its own event table
-- (messages.created_at, status_changes.changed_at, locks.ended_at/started_at,
-- csat_surveys.responded_at, tag_applications.applied_at, topic_applications.applied_at)
-- aggregated by team_id. The per-conversation facts (first human reply, first inbound, first
-- resolution, response reference and first response) and the lock classes are joins and
-- GROUP BYs over just the conversations / sessions of those events, not per-row lookups; their
-- definitions are those of sql/exports/shared/ (human_reply_at_or_before, first_inbound,
-- first_resolution, first_response, lock_sessions). Aggregates group by the CTE's own column
-- so that the row estimates stay one row per conversation.

create view export.teams as
with outbound_in_range as materialized (
    select
        m.message_id,
        m.conversation_id,
        m.team_id,
        c.contact_id,
        (a.kind = 'HUMAN') as is_human
    from inbox.messages as m
    left join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    left join inbox.agents as a
        on a.agent_id = m.agent_id
    where m.created_at >= export.range_start()
      and m.created_at < export.range_end()
      and m.direction = 'OUTBOUND'
      and m.deleted_at is null
      and m.team_id is not null
      and export.channel_selected(c.channel_id)
),

team_scope as (
    select distinct o.team_id
    from outbound_in_range as o
),

replies as (
    select
        o.team_id,
        count(*) as reply_count,
        count(distinct o.contact_id) as contacts_helped
    from outbound_in_range as o
    where o.is_human
    group by o.team_id
),

-- RESOLVED changes in R carrying a team (channel filter applies).
team_resolves as materialized (
    select s.status_change_id, s.conversation_id, s.changed_at, s.team_id
    from inbox.status_changes as s
    left join inbox.conversations as c
        on c.conversation_id = s.conversation_id
    where s.changed_at >= export.range_start()
      and s.changed_at < export.range_end()
      and s.status = 'RESOLVED'
      and s.team_id is not null
      and export.channel_selected(c.channel_id)
),

-- per conversation of those changes: its first non-deleted human outbound message and its first
-- (non-deleted) inbound message ("with reply" is a human reply at or before the change;
-- Resolution Time starts at the first inbound).
resolve_conversation_facts as (
    select
        cv.conversation_id,
        min(m.created_at) filter (where m.direction = 'OUTBOUND' and a.kind = 'HUMAN') as first_human_reply_at,
        min(m.created_at) filter (where m.direction = 'INBOUND') as first_inbound_at
    from (select distinct tr.conversation_id from team_resolves as tr) as cv
    inner join inbox.messages as m
        on m.conversation_id = cv.conversation_id
    left join inbox.agents as a
        on a.agent_id = m.agent_id
    where m.deleted_at is null
    group by cv.conversation_id
),

-- those changes that are their conversation's first resolution (no earlier RESOLVED change, by
-- changed_at then id): Average Resolution Time.
first_resolutions as (
    select tr.status_change_id
    from team_resolves as tr
    where not exists (
        select 1
        from inbox.status_changes as e
        where e.conversation_id = tr.conversation_id
          and e.status = 'RESOLVED'
          and e.changed_at <= tr.changed_at
          and (e.changed_at < tr.changed_at or e.status_change_id collate "C" < tr.status_change_id collate "C")
    )
),

resolves as (
    select
        tr.team_id,
        count(*) filter (where coalesce(f.first_human_reply_at <= tr.changed_at, false)) as resolves_with_reply,
        count(*) filter (where not coalesce(f.first_human_reply_at <= tr.changed_at, false)) as resolves_without_reply,
        -- conversations whose first resolution lies in R and carries the team: the change is the
        -- first RESOLVED change of its conversation (by changed_at, then id)
        avg(export.seconds_between(f.first_inbound_at, tr.changed_at)) filter (
            where fr.status_change_id is not null
              and export.seconds_between(f.first_inbound_at, tr.changed_at) >= 0
        ) as average_resolution_seconds
    from team_resolves as tr
    left join resolve_conversation_facts as f
        on f.conversation_id = tr.conversation_id
    left join first_resolutions as fr
        on fr.status_change_id = tr.status_change_id
    group by tr.team_id
),

-- conversations whose first response lies in R and carries the team. Candidates are the
-- conversations with a non-deleted human outbound message in R. Response reference: earliest
-- VA handover queue entry, else first inbound; first response: the earliest non-deleted human
-- outbound message at or after it (by created_at, then id).
response_candidates as materialized (
    select distinct o.conversation_id
    from outbound_in_range as o
    where o.is_human
),

response_references as (
    select
        cv.conversation_id,
        coalesce(h.handover_at, fi.first_inbound_at) as response_reference_at
    from response_candidates as cv
    left join (
        select rc.conversation_id, min(q.queued_at) as handover_at
        from response_candidates as rc
        inner join inbox.queue_entries as q
            on q.conversation_id = rc.conversation_id
        where q.started_by = 'VA_HANDED_OVER_CONVERSATION'
        group by rc.conversation_id
    ) as h
        on h.conversation_id = cv.conversation_id
    left join (
        select rc.conversation_id, min(m.created_at) as first_inbound_at
        from response_candidates as rc
        inner join inbox.messages as m
            on m.conversation_id = rc.conversation_id
        where m.direction = 'INBOUND'
          and m.deleted_at is null
        group by rc.conversation_id
    ) as fi
        on fi.conversation_id = cv.conversation_id
),

conversation_first_responses as (
    select
        rr.conversation_id,
        rr.response_reference_at,
        min(m.created_at) as first_response_at,
        (array_agg(m.team_id order by m.created_at, m.message_id collate "C"))[1] as team_id
    from response_references as rr
    inner join inbox.messages as m
        on m.conversation_id = rr.conversation_id
       and m.created_at >= rr.response_reference_at
    inner join inbox.agents as a
        on a.agent_id = m.agent_id
       and a.kind = 'HUMAN'
    where m.direction = 'OUTBOUND'
      and m.deleted_at is null
    group by rr.conversation_id, rr.response_reference_at
),

first_responses as (
    select
        cfr.team_id,
        avg(export.seconds_between(cfr.response_reference_at, cfr.first_response_at)) as average_first_response_seconds
    from conversation_first_responses as cfr
    where cfr.first_response_at >= export.range_start()
      and cfr.first_response_at < export.range_end()
      and cfr.team_id is not null
    group by cfr.team_id
),

-- lock sessions carrying a team that overlap R (candidates through the ended_at index: ended
-- after R starts or still held), with their class decided on the whole session (see
-- export.lock_sessions) by two joins instead of two lookups per session; clipped to R.
sessions as materialized (
    select
        l.lock_id,
        l.conversation_id,
        l.agent_id,
        l.team_id,
        l.started_at,
        coalesce(l.ended_at, export.as_of()) as effective_ended_at
    from inbox.locks as l
    left join inbox.conversations as c
        on c.conversation_id = l.conversation_id
    where (l.ended_at > export.range_start() or l.ended_at is null)
      and l.started_at < export.range_end()
      and export.overlaps_range(l.started_at, coalesce(l.ended_at, export.as_of()))
      and l.team_id is not null
      and export.channel_selected(c.channel_id)
),

handling_sessions as (
    select distinct ss.lock_id
    from sessions as ss
    inner join inbox.messages as m
        on m.conversation_id = ss.conversation_id
       and m.agent_id = ss.agent_id
       and m.created_at >= ss.started_at
       and m.created_at <= ss.effective_ended_at
    where m.direction = 'OUTBOUND'
      and m.deleted_at is null
),

resolving_sessions as (
    select distinct ss.lock_id
    from sessions as ss
    inner join inbox.status_changes as s
        on s.conversation_id = ss.conversation_id
       and s.agent_id = ss.agent_id
       and s.changed_at >= ss.started_at
       and s.changed_at <= ss.effective_ended_at
    where s.status = 'RESOLVED'
),

locks_in_range as (
    select
        ss.team_id,
        ss.conversation_id,
        case
            when hs.lock_id is not null then 'HANDLING'
            when rs.lock_id is not null then 'NO_REPLY'
            else 'CHERRY_PICKING'
        end as lock_class,
        export.clipped_seconds(ss.started_at, ss.effective_ended_at) as clipped_seconds
    from sessions as ss
    left join handling_sessions as hs
        on hs.lock_id = ss.lock_id
    left join resolving_sessions as rs
        on rs.lock_id = ss.lock_id
),

lock_times as (
    select
        l.team_id,
        coalesce(sum(l.clipped_seconds) filter (where l.lock_class = 'HANDLING'), 0) as handling_seconds,
        coalesce(sum(l.clipped_seconds) filter (where l.lock_class = 'NO_REPLY'), 0) as no_reply_seconds,
        coalesce(sum(l.clipped_seconds) filter (where l.lock_class = 'CHERRY_PICKING'), 0) as cherry_picking_seconds,
        count(distinct l.conversation_id) filter (where l.lock_class = 'HANDLING') as handled_conversations
    from locks_in_range as l
    group by l.team_id
),

surveys as (
    select
        cs.team_id,
        count(*) filter (where cs.score = 1) as csat_score_1,
        count(*) filter (where cs.score = 2) as csat_score_2,
        count(*) filter (where cs.score = 3) as csat_score_3,
        count(*) filter (where cs.score = 4) as csat_score_4,
        count(*) filter (where cs.score = 5) as csat_score_5
    from inbox.csat_surveys as cs
    left join inbox.conversations as c
        on c.conversation_id = cs.conversation_id
    where cs.responded_at >= export.range_start()
      and cs.responded_at < export.range_end()
      and cs.status = 'COMPLETED'
      and cs.team_id is not null
      and export.channel_selected(c.channel_id)
    group by cs.team_id
),

tags_added as (
    select ta.team_id, count(*) as tags_added
    from inbox.tag_applications as ta
    left join inbox.messages as m
        on m.message_id = ta.message_id
    left join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    where ta.applied_at >= export.range_start()
      and ta.applied_at < export.range_end()
      and ta.team_id is not null
      and m.deleted_at is null
      and export.channel_selected(c.channel_id)
    group by ta.team_id
),

topics_added as (
    select tp.team_id, count(*) as topics_added
    from inbox.topic_applications as tp
    left join inbox.conversations as c
        on c.conversation_id = tp.conversation_id
    where tp.applied_at >= export.range_start()
      and tp.applied_at < export.range_end()
      and tp.team_id is not null
      and export.channel_selected(c.channel_id)
    group by tp.team_id
)

select
    export.format_timestamp(t.created_at) as created_at,
    ts.team_id,
    t.name as team_name,
    coalesce(rv.resolves_with_reply, 0) as resolves_with_reply,
    coalesce(rv.resolves_without_reply, 0) as resolves_without_reply,
    export.round_seconds(fr.average_first_response_seconds) as average_first_response_time,
    export.round_seconds(rs.average_resolution_seconds) as average_resolution_time,
    export.round_seconds(coalesce(lt.handling_seconds, 0)) as total_handling_time,
    export.round_seconds(coalesce(lt.no_reply_seconds, 0)) as total_no_reply_time,
    export.round_seconds(coalesce(lt.cherry_picking_seconds, 0)) as total_cherry_picking_time,
    export.round_seconds(lt.handling_seconds / nullif(lt.handled_conversations, 0)) as average_handling_time,
    coalesce(rp.contacts_helped, 0) as contacts_helped,
    coalesce(sv.csat_score_1, 0) as csat_score_1,
    coalesce(sv.csat_score_2, 0) as csat_score_2,
    coalesce(sv.csat_score_3, 0) as csat_score_3,
    coalesce(sv.csat_score_4, 0) as csat_score_4,
    coalesce(sv.csat_score_5, 0) as csat_score_5,
    coalesce(tg.tags_added, 0) as tags_added,
    coalesce(tp.topics_added, 0) as topics_added,
    coalesce(rp.reply_count, 0) as replies
from team_scope as ts
left join inbox.teams as t
    on t.team_id = ts.team_id
left join resolves as rv
    on rv.team_id = ts.team_id
left join first_responses as fr
    on fr.team_id = ts.team_id
left join resolves as rs
    on rs.team_id = ts.team_id
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
order by t.name collate "C" nulls last, ts.team_id collate "C";

comment on view export.teams is
'teams: one row per team carried by at least one non-deleted outbound message created in R (channel filter applies to every figure). Order: team name, then id.';
comment on column export.teams.created_at is 'Created at: team created_at.';
comment on column export.teams.team_id is 'Team ID.';
comment on column export.teams.team_name is 'Team Name.';
comment on column export.teams.resolves_with_reply is 'Resolves With Reply: RESOLVED status changes in R with this team whose conversation had >= 1 non-deleted human outbound message at or before the change.';
comment on column export.teams.resolves_without_reply is 'Resolves Without Reply: the same changes whose conversation had none.';
comment on column export.teams.average_first_response_time is 'Average First Response Time (s): mean First Response Time of conversations whose first response lies in R and carries this team.';
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
