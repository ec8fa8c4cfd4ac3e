-- facts.topic_applications
--
-- Grain: one row per topic application (inbox.topic_applications, removed ones included: an
-- application "in R" counts even if it was removed later), with its conversation's channel
-- (null when the conversation is not loaded). Materialized as a view.

create view facts.topic_applications as
select
    ta.topic_application_id,
    ta.conversation_id,
    ta.topic_id,
    ta.applied_at,
    ta.agent_id,
    ta.team_id,
    c.channel_id
from inbox.topic_applications as ta
left join inbox.conversations as c
    on c.conversation_id = ta.conversation_id;

comment on view facts.topic_applications is
'One row per topic application with its conversation''s channel (null when the conversation is not loaded).';
