-- export.agent_metrics (`agent-metrics`)
--
-- Grain: one row per human agent (known with kind HUMAN) with a presence interval overlapping R,
-- or any activity in R in a conversation of the selected channels: a non-deleted outbound
-- message it wrote, a lock session overlapping R, a status change, a tag application (not on a deleted
-- message) or topic application, or a survey response (responded_at in R) attributed to it.
-- Order: agent name (C collation), then id.
-- Lock sessions and presence are clipped to R (ongoing ones run to T); the channel filter
-- applies to conversation-based figures, not to presence.
--
-- Plan: each figure is one range scan over R of its event table (presences.ended_at,
-- messages.created_at, locks.ended_at, status_changes.changed_at, tag/topic
-- applications.applied_at, csat_surveys.responded_at) aggregated by agent_id. Lock classes and
-- "with reply" are joins over just those sessions / conversations (set-based), with the
-- definitions of export.lock_sessions and export.human_reply_at_or_before.

create view export.agent_metrics as
with presence_times as (
    select
        p.agent_id,
        coalesce(sum(export.clipped_seconds(p.started_at, p.effective_ended_at))
            filter (where p.presence_type = 'AVAILABLE'), 0) as available_seconds,
        coalesce(sum(export.clipped_seconds(p.started_at, p.effective_ended_at))
            filter (where p.presence_type = 'AWAY'), 0) as away_seconds
    from (
        select pr.*, coalesce(pr.ended_at, export.as_of()) as effective_ended_at
        from inbox.presences as pr
        where (pr.ended_at > export.range_start() or pr.ended_at is null)
          and pr.started_at < export.range_end()
    ) as p
    where export.overlaps_range(p.started_at, p.effective_ended_at)
    group by p.agent_id
),

replies as (
    select
        m.agent_id,
        count(distinct c.contact_id) as contacts_helped,
        count(*) as outbound_count
    from inbox.messages as m
    left join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    where m.created_at >= export.range_start()
      and m.created_at < export.range_end()
      and m.agent_id is not null
      and m.direction = 'OUTBOUND'
      and m.deleted_at is null
      and export.channel_selected(c.channel_id)
    group by m.agent_id
),

-- lock sessions overlapping R (candidates through the ended_at index: ended after R starts or
-- still held), with their class decided on the whole session (see export.lock_sessions) by two
-- joins instead of two lookups per session.
sessions as materialized (
    select
        l.lock_id,
        l.conversation_id,
        l.agent_id,
        l.started_at,
        coalesce(l.ended_at, export.as_of()) as effective_ended_at
    from inbox.locks as l
    left join inbox.conversations as c
        on c.conversation_id = l.conversation_id
    where (l.ended_at > export.range_start() or l.ended_at is null)
      and l.started_at < export.range_end()
      and export.overlaps_range(l.started_at, coalesce(l.ended_at, export.as_of()))
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

lock_times as (
    select
        ls.agent_id,
        coalesce(sum(ls.clipped_seconds) filter (where ls.lock_class = 'HANDLING'), 0) as handling_seconds,
        coalesce(sum(ls.clipped_seconds) filter (where ls.lock_class = 'NO_REPLY'), 0) as no_reply_seconds,
        coalesce(sum(ls.clipped_seconds) filter (where ls.lock_class = 'CHERRY_PICKING'), 0) as cherry_picking_seconds,
        count(distinct ls.conversation_id) filter (where ls.lock_class = 'HANDLING') as handled_conversations
    from (
        select
            ss.agent_id,
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
    ) as ls
    group by ls.agent_id
),

-- status changes in R attributed to an agent (channel filter applies).
agent_status_changes as materialized (
    select s.conversation_id, s.changed_at, s.status, s.agent_id
    from inbox.status_changes as s
    left join inbox.conversations as c
        on c.conversation_id = s.conversation_id
    where s.changed_at >= export.range_start()
      and s.changed_at < export.range_end()
      and s.agent_id is not null
      and export.channel_selected(c.channel_id)
),

-- the first non-deleted human outbound message of each conversation with a RESOLVED change
-- among them: "with reply" is such a message at or before the change.
first_human_replies as (
    select cv.conversation_id, min(m.created_at) as first_human_reply_at
    from (
        select distinct sc.conversation_id
        from agent_status_changes as sc
        where sc.status = 'RESOLVED'
    ) as cv
    inner join inbox.messages as m
        on m.conversation_id = cv.conversation_id
    inner join inbox.agents as a
        on a.agent_id = m.agent_id
       and a.kind = 'HUMAN'
    where m.direction = 'OUTBOUND'
      and m.deleted_at is null
    group by cv.conversation_id
),

resolves as (
    select
        s.agent_id,
        count(*) filter (where s.status = 'RESOLVED' and coalesce(f.first_human_reply_at <= s.changed_at, false)) as resolves_with_reply,
        count(*) filter (where s.status = 'RESOLVED' and not coalesce(f.first_human_reply_at <= s.changed_at, false)) as resolves_without_reply
    from agent_status_changes as s
    left join first_human_replies as f
        on f.conversation_id = s.conversation_id
    group by s.agent_id
),

tags_added as (
    select ta.agent_id, count(*) as tags_added
    from inbox.tag_applications as ta
    left join inbox.messages as m
        on m.message_id = ta.message_id
    left join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    where ta.applied_at >= export.range_start()
      and ta.applied_at < export.range_end()
      and ta.agent_id is not null
      and m.deleted_at is null
      and export.channel_selected(c.channel_id)
    group by ta.agent_id
),

topics_added as (
    select tp.agent_id, count(*) as topics_added
    from inbox.topic_applications as tp
    left join inbox.conversations as c
        on c.conversation_id = tp.conversation_id
    where tp.applied_at >= export.range_start()
      and tp.applied_at < export.range_end()
      and tp.agent_id is not null
      and export.channel_selected(c.channel_id)
    group by tp.agent_id
),

surveys as (
    select
        cs.agent_id,
        count(*) filter (where cs.status = 'COMPLETED' and cs.score = 1) as csat_score_1,
        count(*) filter (where cs.status = 'COMPLETED' and cs.score = 2) as csat_score_2,
        count(*) filter (where cs.status = 'COMPLETED' and cs.score = 3) as csat_score_3,
        count(*) filter (where cs.status = 'COMPLETED' and cs.score = 4) as csat_score_4,
        count(*) filter (where cs.status = 'COMPLETED' and cs.score = 5) as csat_score_5
    from inbox.csat_surveys as cs
    left join inbox.conversations as c
        on c.conversation_id = cs.conversation_id
    where cs.responded_at >= export.range_start()
      and cs.responded_at < export.range_end()
      and cs.agent_id is not null
      and export.channel_selected(c.channel_id)
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
    a.agent_id as user_id,
    a.name as user_name,
    a.email as user_email,
    a.reference as user_reference,
    export.round_seconds(coalesce(pt.available_seconds, 0)) as available_time,
    export.round_seconds(coalesce(pt.away_seconds, 0)) as away_time,
    coalesce(rp.contacts_helped, 0) as contacts_helped,
    export.round_seconds(lt.handling_seconds / nullif(lt.handled_conversations, 0)) as average_handling_time,
    export.round_seconds(coalesce(lt.handling_seconds, 0)) as handling_time,
    export.round_seconds(coalesce(lt.no_reply_seconds, 0)) as no_reply_time,
    export.round_seconds(coalesce(lt.cherry_picking_seconds, 0)) as cherry_picking_time,
    coalesce(rp.outbound_count, 0) as replies,
    coalesce(sc.resolves_with_reply, 0) as resolves_with_reply,
    coalesce(sc.resolves_without_reply, 0) as resolves_without_reply,
    coalesce(tg.tags_added, 0) as tags_added,
    coalesce(tp.topics_added, 0) as topics_added,
    export.percent(
        coalesce(lt.handling_seconds, 0) + coalesce(lt.no_reply_seconds, 0) + coalesce(lt.cherry_picking_seconds, 0),
        coalesce(pt.available_seconds, 0)
    ) as utilization_percent,
    coalesce(sv.csat_score_1, 0) as csat_score_1,
    coalesce(sv.csat_score_2, 0) as csat_score_2,
    coalesce(sv.csat_score_3, 0) as csat_score_3,
    coalesce(sv.csat_score_4, 0) as csat_score_4,
    coalesce(sv.csat_score_5, 0) as csat_score_5
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
order by a.name collate "C", a.agent_id collate "C";

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
