-- The part of Chatwoot's schema the importer reads, as chatwoot/chatwoot's db/schema.rb
-- (ActiveRecord::Schema[7.1], version 2025_08_16_044639) defines it: same table and column names,
-- types (t.string = character varying, t.datetime = timestamp(6) without time zone, precision: nil
-- = timestamp without time zone), defaults, null constraints, integer enums and json/jsonb columns.
-- Rails' `id` is bigserial unless the table says `id: :serial`. Of the indexes only those that make
-- a difference to what a row can hold (unique ones) are kept; the display-id triggers are left out
-- (the fixture gives display_id explicitly). Written by hand from the published schema.

create table accounts (
    id serial primary key,
    name character varying not null,
    created_at timestamp without time zone not null,
    updated_at timestamp without time zone not null,
    locale integer default 0,
    domain character varying(100),
    support_email character varying(100),
    feature_flags bigint default 0 not null,
    auto_resolve_duration integer,
    limits jsonb default '{}'::jsonb,
    custom_attributes jsonb default '{}'::jsonb,
    status integer default 0,
    internal_attributes jsonb default '{}'::jsonb not null,
    settings jsonb default '{}'::jsonb
);

create table users (
    id serial primary key,
    provider character varying default 'email' not null,
    uid character varying default '' not null,
    encrypted_password character varying default '' not null,
    reset_password_token character varying,
    reset_password_sent_at timestamp without time zone,
    remember_created_at timestamp without time zone,
    sign_in_count integer default 0 not null,
    current_sign_in_at timestamp without time zone,
    last_sign_in_at timestamp without time zone,
    current_sign_in_ip character varying,
    last_sign_in_ip character varying,
    confirmation_token character varying,
    confirmed_at timestamp without time zone,
    confirmation_sent_at timestamp without time zone,
    unconfirmed_email character varying,
    name character varying not null,
    display_name character varying,
    email character varying,
    tokens json,
    created_at timestamp without time zone not null,
    updated_at timestamp without time zone not null,
    pubsub_token character varying,
    availability integer default 0,
    ui_settings jsonb default '{}'::jsonb,
    custom_attributes jsonb default '{}'::jsonb,
    type character varying,
    message_signature text
);
create unique index index_users_on_uid_and_provider on users (uid, provider);

create table account_users (
    id bigserial primary key,
    account_id bigint,
    user_id bigint,
    role integer default 0,
    inviter_id bigint,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null,
    active_at timestamp without time zone,
    availability integer default 0 not null,
    auto_offline boolean default true not null,
    custom_role_id bigint,
    agent_capacity_policy_id bigint
);
create unique index uniq_user_id_per_account_id on account_users (account_id, user_id);

create table agent_bots (
    id bigserial primary key,
    name character varying,
    description character varying,
    outgoing_url character varying,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null,
    account_id bigint,
    bot_type integer default 0,
    bot_config jsonb default '{}'::jsonb
);

create table agent_bot_inboxes (
    id bigserial primary key,
    inbox_id integer,
    agent_bot_id integer,
    status integer default 0,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null,
    account_id integer
);

create table channel_web_widgets (
    id serial primary key,
    website_url character varying,
    account_id integer,
    created_at timestamp without time zone not null,
    updated_at timestamp without time zone not null,
    website_token character varying,
    widget_color character varying default '#1f93ff',
    welcome_title character varying,
    welcome_tagline character varying,
    feature_flags integer default 7 not null,
    reply_time integer default 0,
    hmac_token character varying,
    pre_chat_form_enabled boolean default false,
    pre_chat_form_options jsonb default '{}'::jsonb,
    hmac_mandatory boolean default false,
    continuity_via_email boolean default true not null
);
create unique index index_channel_web_widgets_on_website_token on channel_web_widgets (website_token);

create table channel_whatsapp (
    id bigserial primary key,
    account_id integer not null,
    phone_number character varying not null,
    provider character varying default 'default',
    provider_config jsonb default '{}'::jsonb,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null,
    message_templates jsonb default '{}'::jsonb,
    message_templates_last_updated timestamp without time zone
);
create unique index index_channel_whatsapp_on_phone_number on channel_whatsapp (phone_number);

create table inboxes (
    id serial primary key,
    channel_id integer not null,
    account_id integer not null,
    name character varying not null,
    created_at timestamp without time zone not null,
    updated_at timestamp without time zone not null,
    channel_type character varying,
    enable_auto_assignment boolean default true,
    greeting_enabled boolean default false,
    greeting_message character varying,
    email_address character varying,
    working_hours_enabled boolean default false,
    out_of_office_message character varying,
    timezone character varying default 'UTC',
    enable_email_collect boolean default true,
    csat_survey_enabled boolean default false,
    allow_messages_after_resolved boolean default true,
    auto_assignment_config jsonb default '{}'::jsonb,
    lock_to_single_conversation boolean default false not null,
    portal_id bigint,
    sender_name_type integer default 0 not null,
    business_name character varying,
    csat_config jsonb default '{}'::jsonb not null
);

create table working_hours (
    id bigserial primary key,
    inbox_id bigint,
    account_id bigint,
    day_of_week integer not null,
    closed_all_day boolean default false,
    open_hour integer,
    open_minutes integer,
    close_hour integer,
    close_minutes integer,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null,
    open_all_day boolean default false
);

create table teams (
    id bigserial primary key,
    name character varying not null,
    description text,
    allow_auto_assign boolean default true,
    account_id bigint not null,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null
);
create unique index index_teams_on_name_and_account_id on teams (name, account_id);

create table team_members (
    id bigserial primary key,
    team_id bigint not null,
    user_id bigint not null,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null
);
create unique index index_team_members_on_team_id_and_user_id on team_members (team_id, user_id);

create table labels (
    id bigserial primary key,
    title character varying,
    description text,
    color character varying default '#1f93ff' not null,
    show_on_sidebar boolean,
    account_id bigint,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null
);
create unique index index_labels_on_title_and_account_id on labels (title, account_id);

create table tags (
    id serial primary key,
    name character varying,
    taggings_count integer default 0
);
create unique index index_tags_on_name on tags (name);

create table taggings (
    id serial primary key,
    tag_id integer,
    taggable_type character varying,
    taggable_id integer,
    tagger_type character varying,
    tagger_id integer,
    context character varying(128),
    created_at timestamp without time zone
);
create unique index taggings_idx on taggings (tag_id, taggable_id, taggable_type, context, tagger_id, tagger_type);

create table contacts (
    id serial primary key,
    name character varying default '',
    email character varying,
    phone_number character varying,
    account_id integer not null,
    created_at timestamp without time zone not null,
    updated_at timestamp without time zone not null,
    additional_attributes jsonb default '{}'::jsonb,
    identifier character varying,
    custom_attributes jsonb default '{}'::jsonb,
    last_activity_at timestamp without time zone,
    contact_type integer default 0,
    middle_name character varying default '',
    last_name character varying default '',
    location character varying default '',
    country_code character varying default '',
    blocked boolean default false not null
);
create unique index uniq_email_per_account_contact on contacts (email, account_id);
create unique index uniq_identifier_per_account_contact on contacts (identifier, account_id);

create table contact_inboxes (
    id bigserial primary key,
    contact_id bigint,
    inbox_id bigint,
    source_id character varying not null,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null,
    hmac_verified boolean default false,
    pubsub_token character varying
);
create unique index index_contact_inboxes_on_inbox_id_and_source_id on contact_inboxes (inbox_id, source_id);

create table custom_attribute_definitions (
    id bigserial primary key,
    attribute_display_name character varying,
    attribute_key character varying,
    attribute_display_type integer default 0,
    default_value integer,
    attribute_model integer default 0,
    account_id bigint,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null,
    attribute_description text,
    attribute_values jsonb default '[]'::jsonb,
    regex_pattern character varying,
    regex_cue character varying
);
create unique index attribute_key_model_index on custom_attribute_definitions (attribute_key, attribute_model, account_id);

create table conversations (
    id serial primary key,
    account_id integer not null,
    inbox_id integer not null,
    status integer default 0 not null,
    assignee_id integer,
    created_at timestamp without time zone not null,
    updated_at timestamp without time zone not null,
    contact_id bigint,
    display_id integer not null,
    contact_last_seen_at timestamp without time zone,
    agent_last_seen_at timestamp without time zone,
    additional_attributes jsonb default '{}'::jsonb,
    contact_inbox_id bigint,
    uuid uuid default gen_random_uuid() not null,
    identifier character varying,
    last_activity_at timestamp without time zone default current_timestamp not null,
    team_id bigint,
    campaign_id bigint,
    snoozed_until timestamp without time zone,
    custom_attributes jsonb default '{}'::jsonb,
    assignee_last_seen_at timestamp without time zone,
    first_reply_created_at timestamp without time zone,
    priority integer,
    sla_policy_id bigint,
    waiting_since timestamp(6) without time zone,
    cached_label_list text
);
create unique index index_conversations_on_account_id_and_display_id on conversations (account_id, display_id);
create unique index index_conversations_on_uuid on conversations (uuid);

create table messages (
    id serial primary key,
    content text,
    account_id integer not null,
    inbox_id integer not null,
    conversation_id integer not null,
    message_type integer not null,
    created_at timestamp without time zone not null,
    updated_at timestamp without time zone not null,
    private boolean default false not null,
    status integer default 0,
    source_id character varying,
    content_type integer default 0 not null,
    content_attributes json default '{}'::json,
    sender_type character varying,
    sender_id bigint,
    external_source_ids jsonb default '{}'::jsonb,
    additional_attributes jsonb default '{}'::jsonb,
    processed_message_content text,
    sentiment jsonb default '{}'::jsonb
);

create table reporting_events (
    id bigserial primary key,
    name character varying,
    value double precision,
    account_id integer,
    inbox_id integer,
    user_id integer,
    conversation_id integer,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null,
    value_in_business_hours double precision,
    event_start_time timestamp without time zone,
    event_end_time timestamp without time zone
);

create table csat_survey_responses (
    id bigserial primary key,
    account_id bigint not null,
    conversation_id bigint not null,
    message_id bigint not null,
    rating integer not null,
    feedback_message text,
    contact_id bigint not null,
    assigned_agent_id bigint,
    created_at timestamp(6) without time zone not null,
    updated_at timestamp(6) without time zone not null
);
create unique index index_csat_survey_responses_on_message_id on csat_survey_responses (message_id);
