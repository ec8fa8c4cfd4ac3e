-- facts.survey_responses
--
-- Grain: one row per CSAT survey that was responded to (responded_at set: the surveys the team
-- and agent figures count by responded_at), with its conversation's channel (null when the
-- conversation is not loaded) and completed_score: the score that CSAT Score 1..5 counts, i.e.
-- the survey's score when its status is COMPLETED, else null. Materialized as a view.

create view facts.survey_responses as
select
    cs.survey_id,
    cs.conversation_id,
    cs.responded_at,
    cs.agent_id,
    cs.team_id,
    case when cs.status = 'COMPLETED' then cs.score end as completed_score,
    c.channel_id
from inbox.csat_surveys as cs
left join inbox.conversations as c
    on c.conversation_id = cs.conversation_id
where cs.responded_at is not null;

comment on view facts.survey_responses is
'One row per responded CSAT survey with its conversation''s channel and the score CSAT Score 1..5 count (the score of a COMPLETED survey, else null).';
comment on column facts.survey_responses.completed_score is 'The survey''s score when it is COMPLETED; else null.';
