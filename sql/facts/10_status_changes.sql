-- facts.status_changes
--
-- Grain: one row per status change (inbox.status_changes), with its conversation's channel and
-- the two per-change facts that team, agent and virtual-agent figures count:
--   is_with_reply        the conversation had at least one non-deleted human outbound message at
--                        or before the change ("Resolves With Reply"; else "Without Reply");
--   is_first_resolution  the change is its conversation's first resolution.
-- Materialized as a view: a join of the status changes with facts.conversations by key.

create view facts.status_changes as
select
    s.status_change_id,
    s.conversation_id,
    s.changed_at,
    s.status,
    s.agent_id,
    s.team_id,
    s.resolved_by,
    fc.channel_id,
    coalesce(fc.first_human_reply_at <= s.changed_at, false) as is_with_reply,
    coalesce(s.status_change_id = fc.first_resolution_id, false) as is_first_resolution,
    case when s.status_change_id = fc.first_resolution_id then fc.resolution_seconds end as resolution_seconds
from inbox.status_changes as s
left join facts.conversations as fc
    on fc.conversation_id = s.conversation_id;

comment on view facts.status_changes is
'One row per status change with its conversation''s channel, whether the conversation had a human reply at or before it, and whether it is the conversation''s first resolution.';
comment on column facts.status_changes.channel_id is 'The conversation''s channel; null when the conversation is not loaded.';
comment on column facts.status_changes.is_with_reply is 'The conversation had >= 1 non-deleted human outbound message at or before the change.';
comment on column facts.status_changes.is_first_resolution is 'The change is the conversation''s first resolution (earliest RESOLVED change, by changed_at then id).';
comment on column facts.status_changes.resolution_seconds is 'For the first resolution: Resolution Time in exact seconds (null if missing or negative); else null.';
