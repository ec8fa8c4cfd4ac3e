-- export.virtual_agents (`virtual-agents`)
--
-- Grain: one row per (virtual agent, channel) where the virtual agent (an agent known with kind
-- VIRTUAL) wrote at least one non-deleted outbound message in R in a loaded conversation of that
-- channel (selected channels only). "Its conversations" are the distinct conversations of that
-- channel where it did. Order: agent name (C collation), agent id, channel id.
--
-- Plan: messages.created_at range scan for the virtual agents' outbound messages; the
-- per-conversation tests are lookups on queue_entries / status_changes (conversation_id, at);
-- topic and tag applications are applied_at range scans.

create view export.virtual_agents as
with its_conversations as (
    select distinct
        m.agent_id,
        c.channel_id,
        m.conversation_id
    from inbox.messages as m
    inner join inbox.agents as a
        on a.agent_id = m.agent_id
       and a.kind = 'VIRTUAL'
    inner join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    where m.created_at >= export.range_start()
      and m.created_at < export.range_end()
      and m.direction = 'OUTBOUND'
      and m.deleted_at is null
      and export.channel_selected(c.channel_id)
),

conversation_figures as (
    select
        ic.agent_id,
        ic.channel_id,
        count(*) as total_conversations,
        count(*) filter (where exists (
            select 1
            from inbox.queue_entries as q
            where q.conversation_id = ic.conversation_id
              and q.queued_at >= export.range_start()
              and q.queued_at < export.range_end()
              and q.started_by = 'VA_HANDED_OVER_CONVERSATION'
              and q.handover_reason is distinct from 'ERROR'
        )) as handed_over_to_agent,
        count(*) filter (where exists (
            select 1
            from inbox.queue_entries as q
            where q.conversation_id = ic.conversation_id
              and q.queued_at >= export.range_start()
              and q.queued_at < export.range_end()
              and q.started_by = 'VA_HANDED_OVER_CONVERSATION'
              and q.handover_reason = 'ERROR'
        )) as handed_over_due_to_error,
        count(*) filter (where exists (
            select 1
            from inbox.status_changes as s
            where s.conversation_id = ic.conversation_id
              and s.changed_at >= export.range_start()
              and s.changed_at < export.range_end()
              and s.status = 'RESOLVED'
              and s.resolved_by = 'VIRTUAL_AGENT'
        )) as resolved
    from its_conversations as ic
    group by ic.agent_id, ic.channel_id
),

topic_figures as (
    select
        tp.agent_id,
        c.channel_id,
        count(distinct tp.conversation_id) as conversations_with_topic
    from inbox.topic_applications as tp
    inner join inbox.conversations as c
        on c.conversation_id = tp.conversation_id
    where tp.applied_at >= export.range_start()
      and tp.applied_at < export.range_end()
      and tp.agent_id is not null
    group by tp.agent_id, c.channel_id
),

tag_figures as (
    select
        ta.agent_id,
        c.channel_id,
        count(distinct ta.message_id) as tagged_messages,
        count(*) as message_tags
    from inbox.tag_applications as ta
    inner join inbox.messages as m
        on m.message_id = ta.message_id
    inner join inbox.conversations as c
        on c.conversation_id = m.conversation_id
    where ta.applied_at >= export.range_start()
      and ta.applied_at < export.range_end()
      and ta.agent_id is not null
      and m.deleted_at is null
    group by ta.agent_id, c.channel_id
)

select
    cf.agent_id,
    a.name as agent_name,
    ch.medium,
    ch.name as channel,
    ch.display_name as channel_display_name,
    cf.total_conversations,
    cf.handed_over_to_agent,
    cf.handed_over_due_to_error,
    cf.resolved,
    coalesce(tf.conversations_with_topic, 0) as total_conversations_with_topic,
    coalesce(gf.tagged_messages, 0) as total_tagged_messages,
    coalesce(gf.message_tags, 0) as total_message_tags
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
order by a.name collate "C", cf.agent_id collate "C", cf.channel_id collate "C";

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
