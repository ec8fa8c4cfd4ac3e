-- export.virtual_agents (`virtual-agents`)
--
-- Grain: one row per (virtual agent, channel) where the virtual agent (an agent known with kind
-- VIRTUAL) wrote at least one non-deleted outbound message (facts.outbound_messages) in R in a
-- loaded conversation of that channel (selected channels only). "Its conversations" are the
-- distinct conversations of that channel where it did. Order (the CSV view): agent name (C
-- collation), agent id, channel id.
--
-- One definition, three forms (see resolved_conversations.sql): _within (typed), _between
-- (dates in a zone), the view (CSV cells for the session's parameters, through
-- export.rows_for_session).

create type export.virtual_agents_row as (
    agent_id                       text,
    channel_id                     text,
    agent_name                     text,
    medium                         text,
    channel                        text,
    channel_display_name           text,
    total_conversations            bigint,
    handed_over_to_agent           bigint,
    handed_over_due_to_error       bigint,
    resolved                       bigint,
    total_conversations_with_topic bigint,
    total_tagged_messages          bigint,
    total_message_tags             bigint
);

create function export.virtual_agents_within(
    range_start timestamptz,
    range_end   timestamptz,
    as_of       timestamptz default now(),
    channel_ids text[] default null
)
returns setof export.virtual_agents_row
language sql stable parallel safe
as $$
    with its_conversations as (
        select distinct o.agent_id, o.channel_id, o.conversation_id
        from facts.outbound_messages as o
        where o.created_at >= range_start
          and o.created_at < range_end
          and o.author_kind = 'VIRTUAL'
          and o.channel_id is not null
          and export.channel_matches(o.channel_id, channel_ids)
    ),

    -- The conversations with a virtual-agent handover in R, and those resolved by a virtual
    -- agent in R: one range scan each, joined to its conversations by key (rather than a probe
    -- per conversation).
    handovers as (
        select
            q.conversation_id,
            bool_or(q.handover_reason is distinct from 'ERROR') as is_handed_over_to_agent,
            bool_or(q.handover_reason = 'ERROR') as is_handed_over_due_to_error
        from inbox.queue_entries as q
        where q.queued_at >= range_start
          and q.queued_at < range_end
          and q.started_by = 'VA_HANDED_OVER_CONVERSATION'
        group by q.conversation_id
    ),

    virtual_resolves as (
        select distinct s.conversation_id
        from inbox.status_changes as s
        where s.changed_at >= range_start
          and s.changed_at < range_end
          and s.status = 'RESOLVED'
          and s.resolved_by = 'VIRTUAL_AGENT'
    ),

    conversation_figures as (
        select
            ic.agent_id,
            ic.channel_id,
            count(*) as total_conversations,
            count(*) filter (where h.is_handed_over_to_agent) as handed_over_to_agent,
            count(*) filter (where h.is_handed_over_due_to_error) as handed_over_due_to_error,
            count(vr.conversation_id) as resolved
        from its_conversations as ic
        left join handovers as h
            on h.conversation_id = ic.conversation_id
        left join virtual_resolves as vr
            on vr.conversation_id = ic.conversation_id
        group by ic.agent_id, ic.channel_id
    ),

    -- Topic and tag figures of virtual agents only (no other agent's rows can join a row of
    -- conversation_figures).
    virtual_agent_ids as (
        select a.agent_id
        from inbox.agents as a
        where a.kind = 'VIRTUAL'
    ),

    topic_figures as (
        select
            tp.agent_id,
            tp.channel_id,
            count(distinct tp.conversation_id) as conversations_with_topic
        from facts.topic_applications as tp
        where tp.applied_at >= range_start
          and tp.applied_at < range_end
          and tp.agent_id in (select va.agent_id from virtual_agent_ids as va)
          and tp.channel_id is not null
        group by tp.agent_id, tp.channel_id
    ),

    tag_figures as (
        select
            ta.agent_id,
            ta.channel_id,
            count(distinct ta.message_id) as tagged_messages,
            count(*) as message_tags
        from facts.tag_applications as ta
        where ta.applied_at >= range_start
          and ta.applied_at < range_end
          and ta.agent_id in (select va.agent_id from virtual_agent_ids as va)
          and ta.channel_id is not null
        group by ta.agent_id, ta.channel_id
    )

    select
        cf.agent_id,
        cf.channel_id,
        a.name,
        ch.medium,
        ch.name,
        ch.display_name,
        cf.total_conversations,
        cf.handed_over_to_agent,
        cf.handed_over_due_to_error,
        cf.resolved,
        coalesce(tf.conversations_with_topic, 0),
        coalesce(gf.tagged_messages, 0),
        coalesce(gf.message_tags, 0)
    from conversation_figures as cf
    inner join inbox.agents as a
        on a.agent_id = cf.agent_id
    left join inbox.channels as ch
        on ch.channel_id = cf.channel_id
    left join topic_figures as tf
        on tf.agent_id = cf.agent_id
       and tf.channel_id = cf.channel_id
    left join tag_figures as gf
        on gf.agent_id = cf.agent_id
       and gf.channel_id = cf.channel_id
$$;
comment on function export.virtual_agents_within(timestamptz, timestamptz, timestamptz, text[]) is
'virtual-agents, typed: one row per (virtual agent, channel) where the virtual agent wrote a non-deleted outbound message in [range_start, range_end) in a conversation of that channel (channel filter: null = all). Unordered; as_of is unused.';

create function export.virtual_agents_between(
    from_date   date,
    to_date     date,
    time_zone   text default 'UTC',
    channel_ids text[] default null,
    as_of       timestamptz default now()
)
returns setof export.virtual_agents_row
language sql stable parallel safe
as $$
    select x.*
    from export.resolve_parameters(from_date::text, to_date::text, time_zone, channel_ids, as_of, is_range_required => true) as p
    cross join lateral export.virtual_agents_within(
        p.resolved_range_start, p.resolved_range_end, p.resolved_as_of, p.resolved_channel_ids) as x
$$;
comment on function export.virtual_agents_between(date, date, text, text[], timestamptz) is
'virtual-agents, typed, for the dates from_date..to_date (inclusive) read in time_zone. Unordered.';

create view export.virtual_agents as
select
    v.agent_id,
    v.agent_name,
    v.medium,
    v.channel,
    v.channel_display_name,
    v.total_conversations,
    v.handed_over_to_agent,
    v.handed_over_due_to_error,
    v.resolved,
    v.total_conversations_with_topic,
    v.total_tagged_messages,
    v.total_message_tags
from export.rows_for_session(null::export.virtual_agents_row, 'virtual_agents_within') as v
order by v.agent_name collate "C", v.agent_id collate "C", v.channel_id collate "C";

comment on view export.virtual_agents is
'virtual-agents: one row per (virtual agent, channel) where the virtual agent wrote at least one non-deleted outbound message in R in a conversation of that channel. Order: agent name, agent id, channel id.';
comment on column export.virtual_agents.agent_id is 'Agent ID.';
comment on column export.virtual_agents.agent_name is 'Agent Name.';
comment on column export.virtual_agents.medium is 'Medium: channel''s medium.';
comment on column export.virtual_agents.channel is 'Channel: channel''s name.';
comment on column export.virtual_agents.channel_display_name is 'Channel Display Name: channel''s display name.';
comment on column export.virtual_agents.total_conversations is 'Total Conversations: its conversations (distinct conversations of the channel where it wrote a non-deleted outbound message in R).';
comment on column export.virtual_agents.handed_over_to_agent is 'Handed Over to Agent: its conversations with a VA_HANDED_OVER_CONVERSATION queue entry in R whose handover_reason is not ERROR.';
comment on column export.virtual_agents.handed_over_due_to_error is 'Handed Over Due to Error: its conversations with such an entry whose handover_reason is ERROR.';
comment on column export.virtual_agents.resolved is 'Resolved: its conversations with a RESOLVED change in R with resolved_by = VIRTUAL_AGENT.';
comment on column export.virtual_agents.total_conversations_with_topic is 'Total Conversations with Topic: distinct conversations of the channel where it applied >= 1 topic in R.';
comment on column export.virtual_agents.total_tagged_messages is 'Total Tagged Messages: distinct (non-deleted) messages of the channel it tagged in R.';
comment on column export.virtual_agents.total_message_tags is 'Total Message Tags: its tag applications in R on (non-deleted) messages of the channel.';
