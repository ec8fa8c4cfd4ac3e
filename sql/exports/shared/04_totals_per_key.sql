-- Figures that the teams and agent-metrics exports both report, once per team and once per agent:
-- one definition each, grouped by the key the caller names (per => 'team' or 'agent'; the planner
-- folds the choice away when the function is inlined with a constant).
--
-- export.reply_totals       Replies (non-deleted human outbound messages in R, facts.human_replies)
--                           and Contacts Helped (distinct contacts of those replies), per key.
-- export.lock_time_totals   Handling, No-Reply and Cherry-Picking Time (lock sessions overlapping R,
--                           clipped to R, classed at T: facts.lock_sessions_within) and the
--                           distinct conversations with a handling session (the divisor of Average
--                           Handling Time), per key.
-- Rows whose key is null (no team) are left out. Distinct counts are groupings by (key, contact) or
-- (key, conversation) counted per key, and the lock-time sums aggregate on their own: a
-- count(distinct) beside the sums forbids a parallel aggregate and sorts each group's values.

create function export.reply_totals(range_start timestamptz, range_end timestamptz, channel_ids text[], per text)
returns table (key text, replies bigint, contacts_helped bigint)
language sql stable parallel safe
as $$
    with key_contacts as (
        select
            case per when 'team' then hr.team_id else hr.agent_id end as key,
            hr.contact_id,
            count(*) as reply_count
        from facts.human_replies as hr
        where hr.created_at >= range_start
          and hr.created_at < range_end
          and (case per when 'team' then hr.team_id else hr.agent_id end) is not null
          and export.channel_matches(hr.channel_id, channel_ids)
        group by 1, 2
    )
    select kc.key, sum(kc.reply_count)::bigint, count(kc.contact_id)
    from key_contacts as kc
    group by kc.key
$$;
comment on function export.reply_totals(timestamptz, timestamptz, text[], text) is
'Per team (per => ''team'') or agent (''agent''): the human replies in [range_start, range_end) and their distinct contacts (channel filter: null = all).';

create function export.lock_time_totals(range_start timestamptz, range_end timestamptz, as_of timestamptz,
                                        channel_ids text[], per text)
returns table (key text, handling_seconds numeric, no_reply_seconds numeric, cherry_picking_seconds numeric,
               handled_conversations bigint)
language sql stable parallel safe
as $$
    with sums as (
        select
            case per when 'team' then ls.team_id else ls.agent_id end as key,
            sum(ls.handling_clipped_seconds) as handling_seconds,
            sum(ls.no_reply_clipped_seconds) as no_reply_seconds,
            sum(ls.cherry_picking_clipped_seconds) as cherry_picking_seconds
        from facts.lock_sessions_within(range_start, range_end, as_of) as ls
        where (case per when 'team' then ls.team_id else ls.agent_id end) is not null
          and export.channel_matches(ls.channel_id, channel_ids)
        group by 1
    ),

    handled as (
        select
            case per when 'team' then ls.team_id else ls.agent_id end as key,
            ls.conversation_id
        from facts.lock_sessions_within(range_start, range_end, as_of) as ls
        where (case per when 'team' then ls.team_id else ls.agent_id end) is not null
          and export.channel_matches(ls.channel_id, channel_ids)
          and ls.lock_class = 'HANDLING'
        group by 1, 2
    ),

    handled_counts as (
        select h.key, count(*) as handled_conversations
        from handled as h
        group by h.key
    )

    select s.key, s.handling_seconds, s.no_reply_seconds, s.cherry_picking_seconds, hc.handled_conversations
    from sums as s
    left join handled_counts as hc
        on hc.key = s.key
$$;
comment on function export.lock_time_totals(timestamptz, timestamptz, timestamptz, text[], text) is
'Per team (per => ''team'') or agent (''agent''): the lock time of each class inside [range_start, range_end) (classes read at as_of) and the distinct conversations with a handling session (channel filter: null = all).';
