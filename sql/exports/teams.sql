-- export.teams (`teams`)
--
-- Grain: one row per team_id carried by at least one non-deleted outbound message (human or
-- virtual author) created in R in a conversation of the selected channels, even when the team
-- record itself is missing. Order: team name (C collation, missing names last), then team id.
-- Team attribution is by the team_id carried on each event; the channel filter applies to
-- every figure (through the event's conversation).
--
-- Plan: every figure is one range scan over R of its own event table (messages.created_at,
-- status_changes.changed_at, locks.ended_at, csat_surveys.responded_at,
-- tag_applications.applied_at, topic_applications.applied_at) aggregated by team_id; the
-- per-conversation facts (first response, first inbound, earlier resolution, earlier reply)
-- are index lookups for those events only.

create view export.teams as
with outbound_in_range as (
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

resolves as (
    select
        s.team_id,
        count(*) filter (where hr.has_human_reply) as resolves_with_reply,
        count(*) filter (where not hr.has_human_reply) as resolves_without_reply
    from inbox.status_changes as s
    left join inbox.conversations as c
        on c.conversation_id = s.conversation_id
    cross join lateral export.human_reply_at_or_before(s.conversation_id, s.changed_at) as hr
    where s.changed_at >= export.range_start()
      and s.changed_at < export.range_end()
      and s.status = 'RESOLVED'
      and s.team_id is not null
      and export.channel_selected(c.channel_id)
    group by s.team_id
),

-- conversations whose first response lies in R: candidates are the conversations with a
-- non-deleted human outbound message in R; the first response itself carries the team.
first_responses as (
    select
        fr.team_id,
        avg(fr.first_response_seconds) as average_first_response_seconds
    from (select distinct o.conversation_id from outbound_in_range as o where o.is_human) as cv
    cross join lateral export.first_response(cv.conversation_id) as fr
    where fr.created_at >= export.range_start()
      and fr.created_at < export.range_end()
      and fr.team_id is not null
    group by fr.team_id
),

-- conversations whose first resolution lies in R and carries the team.
resolutions as (
    select
        s.team_id,
        avg(rs.resolution_seconds) filter (where rs.resolution_seconds >= 0) as average_resolution_seconds
    from inbox.status_changes as s
    left join inbox.conversations as c
        on c.conversation_id = s.conversation_id
    cross join lateral export.first_resolution(s.conversation_id) as earliest
    left join lateral export.first_inbound(s.conversation_id) as fi on true
    cross join lateral (
        select export.seconds_between(fi.created_at, s.changed_at) as resolution_seconds
    ) as rs
    where s.changed_at >= export.range_start()
      and s.changed_at < export.range_end()
      and s.status = 'RESOLVED'
      and s.team_id is not null
      and export.channel_selected(c.channel_id)
      and earliest.status_change_id = s.status_change_id
    group by s.team_id
),

-- lock sessions overlapping R (candidates through the ended_at index: ended after R starts or
-- still held), clipped to R.
locks_in_range as (
    select
        ls.team_id,
        ls.conversation_id,
        ls.lock_class,
        export.clipped_seconds(ls.started_at, ls.effective_ended_at) as clipped_seconds
    from export.lock_sessions as ls
    left join inbox.conversations as c
        on c.conversation_id = ls.conversation_id
    where (ls.ended_at > export.range_start() or ls.ended_at is null)
      and ls.started_at < export.range_end()
      and export.overlaps_range(ls.started_at, ls.effective_ended_at)
      and ls.team_id is not null
      and export.channel_selected(c.channel_id)
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
left join resolutions as rs
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
