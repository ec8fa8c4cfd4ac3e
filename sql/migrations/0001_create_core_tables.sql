-- 0001: the normalized inbox tables, keyed by the shared ids of the event log.
--
-- One table per record kind of ../shared/spec/input-format.md, in schema `inbox`.
-- Column names follow the contract's field names, except:
--   * the key column is `<entity>_id` (channel_id, agent_id, message_id, ...);
--   * the bare `at` of status changes, queue entries and tag/topic applications becomes
--     changed_at, queued_at and applied_at;
--   * booleans are `is_...` (topics.is_active, tags.is_active);
--   * presence intervals name their state `presence_type` (AVAILABLE / AWAY).
-- Every timestamp is timestamptz. Fields of a record the contract does not list are kept in
-- `extra` (a jsonb object; null when the record had none).
--
-- References between tables are deliberately NOT foreign keys: the log delivers records out of
-- order (a message may arrive before its conversation), and the exports read whatever is known at
-- export time. See docs/data-model.md.

create schema if not exists inbox;

-- Dimensions ------------------------------------------------------------------------------------

create table inbox.channels (
    channel_id   text primary key,
    medium       text not null,
    name         text not null,
    display_name text,
    updated_at   timestamptz,
    extra        jsonb
);

create table inbox.agents (
    agent_id   text primary key,
    name       text not null,
    kind       text not null check (kind in ('HUMAN', 'VIRTUAL')),
    email      text,
    reference  text,
    updated_at timestamptz,
    extra      jsonb
);

create table inbox.teams (
    team_id    text primary key,
    name       text not null,
    created_at timestamptz not null,
    updated_at timestamptz,
    extra      jsonb
);

create table inbox.contacts (
    contact_id           text primary key,
    medium               text not null,
    created_at           timestamptz not null,
    primary_identifier   text,
    secondary_identifier text,
    updated_at           timestamptz,
    extra                jsonb
);

create table inbox.contact_attributes (
    contact_id     text not null,
    attribute_id   text not null,
    name           text not null,
    attribute_type text not null,
    value          text,
    source         text,
    updated_at     timestamptz,
    extra          jsonb,
    primary key (contact_id, attribute_id)
);

create table inbox.topics (
    topic_id   text primary key,
    name       text not null,
    is_active  boolean not null default true,
    updated_at timestamptz,
    extra      jsonb
);

create table inbox.tags (
    tag_id     text primary key,
    name       text not null,
    is_active  boolean not null default true,
    updated_at timestamptz,
    extra      jsonb
);

create table inbox.conversations (
    conversation_id text primary key,
    channel_id      text not null,
    contact_id      text not null,
    created_at      timestamptz not null,
    url             text,
    language        text,
    sentiment       text,
    updated_at      timestamptz,
    extra           jsonb
);
create index conversations_channel_id_idx on inbox.conversations (channel_id);
create index conversations_contact_id_idx on inbox.conversations (contact_id);
create index conversations_created_at_idx on inbox.conversations (created_at);

-- Facts and events ------------------------------------------------------------------------------

create table inbox.messages (
    message_id       text primary key,
    conversation_id  text not null,
    created_at       timestamptz not null,
    direction        text not null check (direction in ('INBOUND', 'OUTBOUND')),
    message_type     text,
    origin           text,
    outbound_type    text,
    agent_id         text,
    team_id          text,
    system_user_type text,
    content          text,
    post_url         text,
    sentiment        text,
    updated_at       timestamptz,
    deleted_at       timestamptz,
    extra            jsonb
);
create index messages_created_at_idx on inbox.messages (created_at);
create index messages_conversation_id_created_at_idx on inbox.messages (conversation_id, created_at);
create index messages_agent_id_created_at_idx on inbox.messages (agent_id, created_at) where agent_id is not null;
create index messages_team_id_created_at_idx on inbox.messages (team_id, created_at) where team_id is not null;

create table inbox.status_changes (
    status_change_id   text primary key,
    conversation_id    text not null,
    changed_at         timestamptz not null,
    status             text not null check (status in ('NEW', 'PENDING', 'RESOLVED')),
    agent_id           text,
    team_id            text,
    resolved_by        text check (resolved_by in ('AGENT', 'VIRTUAL_AGENT', 'BULK', 'SYSTEM')),
    resolve_trigger    text check (resolve_trigger in ('HUMAN_AGENT', 'VIRTUAL_AGENT', 'AUTOMATION', 'AUTO_RESOLVE')),
    resolution_reason  text,
    resolution_comment text,
    extra              jsonb
);
create index status_changes_changed_at_idx on inbox.status_changes (changed_at);
create index status_changes_conversation_id_changed_at_idx on inbox.status_changes (conversation_id, changed_at);
create index status_changes_agent_id_changed_at_idx on inbox.status_changes (agent_id, changed_at) where agent_id is not null;

create table inbox.queue_entries (
    queue_entry_id     text primary key,
    conversation_id    text not null,
    queued_at          timestamptz not null,
    started_by         text not null,
    handover_reason    text,
    inbound_message_id text,
    extra              jsonb
);
create index queue_entries_queued_at_idx on inbox.queue_entries (queued_at);
create index queue_entries_conversation_id_queued_at_idx on inbox.queue_entries (conversation_id, queued_at);

create table inbox.locks (
    lock_id         text primary key,
    conversation_id text not null,
    agent_id        text not null,
    started_at      timestamptz not null,
    ended_at        timestamptz,
    team_id         text,
    updated_at      timestamptz,
    extra           jsonb
);
create index locks_started_at_idx on inbox.locks (started_at);
create index locks_ended_at_idx on inbox.locks (ended_at);
create index locks_conversation_id_idx on inbox.locks (conversation_id);
create index locks_agent_id_started_at_idx on inbox.locks (agent_id, started_at);

create table inbox.topic_applications (
    topic_application_id text primary key,
    conversation_id      text not null,
    topic_id             text not null,
    applied_at           timestamptz not null,
    agent_id             text,
    team_id              text,
    removed_at           timestamptz,
    updated_at           timestamptz,
    extra                jsonb
);
create index topic_applications_applied_at_idx on inbox.topic_applications (applied_at);
create index topic_applications_conversation_id_idx on inbox.topic_applications (conversation_id);
create index topic_applications_topic_id_idx on inbox.topic_applications (topic_id);

create table inbox.tag_applications (
    tag_application_id text primary key,
    message_id         text not null,
    tag_id             text not null,
    applied_at         timestamptz not null,
    agent_id           text,
    team_id            text,
    removed_at         timestamptz,
    updated_at         timestamptz,
    extra              jsonb
);
create index tag_applications_applied_at_idx on inbox.tag_applications (applied_at);
create index tag_applications_message_id_idx on inbox.tag_applications (message_id);
create index tag_applications_tag_id_idx on inbox.tag_applications (tag_id);

create table inbox.csat_surveys (
    survey_id          text primary key,
    conversation_id    text not null,
    sent_at            timestamptz not null,
    status             text not null check (status in ('SENT', 'COMPLETED', 'EXPIRED', 'DECLINED')),
    agent_id           text,
    team_id            text,
    responded_at       timestamptz,
    score              smallint check (score between 1 and 5),
    follow_up_question text,
    follow_up_answer   text,
    updated_at         timestamptz,
    extra              jsonb
);
create index csat_surveys_conversation_id_idx on inbox.csat_surveys (conversation_id);
create index csat_surveys_responded_at_idx on inbox.csat_surveys (responded_at);

create table inbox.presences (
    presence_id   text primary key,
    agent_id      text not null,
    presence_type text not null check (presence_type in ('AVAILABLE', 'AWAY')),
    started_at    timestamptz not null,
    away_state    text,
    ended_at      timestamptz,
    updated_at    timestamptz,
    extra         jsonb
);
create index presences_started_at_idx on inbox.presences (started_at);
create index presences_ended_at_idx on inbox.presences (ended_at);
create index presences_agent_id_started_at_idx on inbox.presences (agent_id, started_at);

-- Loader bookkeeping ----------------------------------------------------------------------------

create schema if not exists warehouse;

-- One row per file (or stdin) a load run read.
create table warehouse.loads (
    load_id        bigint generated always as identity primary key,
    source         text not null,
    sha256         text,
    bytes          bigint,
    status         text not null default 'running' check (status in ('running', 'succeeded', 'rejected', 'failed')),
    is_strict      boolean not null default false,
    lines_read     bigint not null default 0,
    records_loaded bigint not null default 0,
    records_rejected bigint not null default 0,
    counts         jsonb,
    started_at     timestamptz not null default clock_timestamp(),
    finished_at    timestamptz,
    error          text
);

-- Every invalid line, with where it came from and why it was refused. `raw` is the line as text;
-- when the line was not valid UTF-8 (or held a NUL byte) `raw` holds a repaired copy and
-- `raw_bytes` the exact bytes, so nothing is lost.
create table warehouse.load_rejects (
    load_id     bigint not null,
    source      text not null,
    line_number bigint not null,
    kind        text,
    reason      text not null,
    raw         text not null,
    raw_bytes   bytea,
    primary key (load_id, line_number)
);
