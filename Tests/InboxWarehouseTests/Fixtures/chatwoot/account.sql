-- A small hand-made Chatwoot account (account 1, "Acme") and a neighbour (account 2) that must not
-- be imported. Every value here is used in DERIVATION.md; enums are Chatwoot's integers:
--   conversations.status      0 open, 1 resolved, 2 pending, 3 snoozed
--   messages.message_type     0 incoming, 1 outgoing, 2 activity, 3 template
--   messages.content_type     0 text, 9 input_csat
--   account_users.role        0 agent, 1 administrator;  availability 0 online, 1 offline, 2 busy
--   custom_attribute_definitions.attribute_model 1 contact; attribute_display_type 5 date, 6 list
--   working_hours.day_of_week 0 Sunday … 6 Saturday;  agent_bot_inboxes.status 0 active
-- All times are UTC (Rails stores timestamp without time zone in UTC).

insert into accounts (id, name, created_at, updated_at) values
    (1, 'Acme', '2025-01-01 08:00:00', '2025-01-01 08:00:00'),
    (2, 'Other', '2025-01-01 08:00:00', '2025-01-01 08:00:00');

insert into users (id, uid, name, display_name, email, created_at, updated_at) values
    (1, 'alice@acme.test', 'Alice Martin', 'Alice', 'alice@acme.test', '2025-06-01 08:00:00', '2025-06-01 08:00:00'),
    (2, 'bob@acme.test', 'Bob Stone', null, 'bob@acme.test', '2025-06-01 08:00:00', '2025-06-01 08:00:00'),
    (3, 'carol@other.test', 'Carol Other', null, 'carol@other.test', '2025-06-01 08:00:00', '2025-06-01 08:00:00');

insert into account_users (id, account_id, user_id, role, availability, created_at, updated_at) values
    (1, 1, 1, 1, 0, '2025-06-01 08:00:00', '2026-03-01 08:00:00'),
    (2, 1, 2, 0, 2, '2025-06-01 08:00:00', '2026-03-01 08:00:00'),
    (3, 2, 3, 1, 0, '2025-06-01 08:00:00', '2025-06-01 08:00:00');

insert into agent_bots (id, name, description, outgoing_url, account_id, created_at, updated_at) values
    (1, 'Acme Bot', 'Invoices first', 'https://bot.acme.test/hook', 1, '2025-06-01 08:00:00', '2025-06-01 08:00:00');

insert into channel_web_widgets (id, website_url, account_id, website_token, created_at, updated_at) values
    (1, 'https://acme.test', 1, 'tok-acme', '2025-06-01 10:00:00', '2025-06-01 10:00:00'),
    (2, 'https://other.test', 2, 'tok-other', '2025-06-01 10:00:00', '2025-06-01 10:00:00');

insert into channel_whatsapp (id, account_id, phone_number, provider, created_at, updated_at) values
    (1, 1, '+33100000000', 'whatsapp_cloud', '2025-06-01 10:00:00', '2025-06-01 10:00:00');

insert into inboxes (id, channel_id, account_id, name, channel_type, working_hours_enabled, timezone, csat_survey_enabled,
                     created_at, updated_at) values
    (1, 1, 1, 'Website chat', 'Channel::WebWidget', true, 'Europe/Paris', true, '2025-06-01 10:00:00', '2025-06-01 10:00:00'),
    (2, 1, 1, 'WhatsApp Support', 'Channel::Whatsapp', false, 'UTC', false, '2025-06-01 10:00:00', '2025-06-01 10:00:00'),
    (3, 2, 2, 'Other chat', 'Channel::WebWidget', false, 'UTC', false, '2025-06-01 10:00:00', '2025-06-01 10:00:00');

insert into agent_bot_inboxes (id, inbox_id, agent_bot_id, status, account_id, created_at, updated_at) values
    (1, 1, 1, 0, 1, '2025-06-01 10:00:00', '2025-06-01 10:00:00');

-- Website chat opens 09:00-17:00 Monday to Friday (Europe/Paris), closed at the weekend.
insert into working_hours (inbox_id, account_id, day_of_week, closed_all_day, open_hour, open_minutes, close_hour, close_minutes,
                           open_all_day, created_at, updated_at)
select 1, 1, day, day in (0, 6), case when day in (0, 6) then null else 9 end, case when day in (0, 6) then null else 0 end,
       case when day in (0, 6) then null else 17 end, case when day in (0, 6) then null else 0 end, false,
       '2025-06-01 10:00:00', '2025-06-01 10:00:00'
from generate_series(0, 6) as day;

insert into teams (id, name, account_id, created_at, updated_at) values
    (1, 'Billing', 1, '2025-06-01 09:00:00', '2025-06-01 09:00:00'),
    (2, 'Support Tier 1', 1, '2025-06-02 09:00:00', '2025-06-02 09:00:00');

insert into team_members (team_id, user_id, created_at, updated_at) values
    (1, 1, '2025-06-01 09:00:00', '2025-06-01 09:00:00'),
    (2, 2, '2025-06-02 09:00:00', '2025-06-02 09:00:00');

insert into labels (id, title, account_id, show_on_sidebar, created_at, updated_at) values
    (1, 'billing', 1, true, '2025-06-01 11:00:00', '2025-06-01 11:00:00'),
    (2, 'urgent', 1, true, '2025-06-01 11:00:00', '2025-06-01 11:00:00'),
    (3, 'vip', 1, true, '2025-06-01 11:00:00', '2025-06-01 11:00:00');

-- acts-as-taggable-on's tags; "legacy" is a label deleted from the account but still on a conversation.
insert into tags (id, name, taggings_count) values (1, 'billing', 1), (2, 'urgent', 0), (3, 'vip', 2), (4, 'legacy', 1);

insert into custom_attribute_definitions (id, attribute_display_name, attribute_key, attribute_display_type, attribute_model,
                                          account_id, created_at, updated_at) values
    (1, 'Plan', 'plan', 6, 1, 1, '2025-06-01 12:00:00', '2025-06-01 12:00:00'),
    (2, 'Signup date', 'signup_date', 5, 1, 1, '2025-06-01 12:00:00', '2025-06-01 12:00:00'),
    (3, 'Order', 'order_id', 0, 0, 1, '2025-06-01 12:00:00', '2025-06-01 12:00:00');

insert into contacts (id, name, email, phone_number, account_id, identifier, custom_attributes, created_at, updated_at) values
    (1, 'Jean Dupont', 'jean@example.test', null, 1, null, '{"plan": "gold", "signup_date": "2025-01-15", "vip": true}',
     '2026-03-02 08:59:00', '2026-03-02 09:00:00'),
    (2, 'Maria Rossi', null, '+33611111111', 1, null, '{"plan": "silver"}', '2026-03-02 09:59:00', '2026-03-02 10:00:00'),
    (3, 'Li Wei', null, '+33622222222', 1, null, '{}', '2026-03-03 10:59:00', '2026-03-03 11:00:00'),
    (4, 'Other Person', 'person@other.test', null, 2, null, '{}', '2026-03-02 11:59:00', '2026-03-02 11:59:00');

insert into contact_inboxes (id, contact_id, inbox_id, source_id, created_at, updated_at) values
    (1, 1, 1, 'c1-widget-session', '2026-03-02 08:59:00', '2026-03-02 08:59:00'),
    (2, 2, 2, '33611111111', '2026-03-02 09:59:00', '2026-03-02 09:59:00'),
    (3, 3, 2, '33622222222', '2026-03-03 10:59:00', '2026-03-03 10:59:00'),
    (4, 4, 3, 'c4-widget-session', '2026-03-02 11:59:00', '2026-03-02 11:59:00');

-- Conversation 11: web chat with the bot, handed off to Alice, resolved, CSAT 4.
-- Conversation 12: WhatsApp, Bob replies, sets it pending, labels urgent+vip, removes urgent,
--                  resolves; the contact writes again the next day (reopened), Alice answers.
-- Conversation 13: WhatsApp, unanswered, one message deleted, carries the deleted label "legacy".
-- Conversation 14: account 2.
insert into conversations (id, account_id, inbox_id, status, assignee_id, contact_id, display_id, contact_inbox_id, team_id,
                           additional_attributes, custom_attributes, created_at, updated_at, last_activity_at) values
    (11, 1, 1, 1, 1, 1, 1, 1, 1, '{"conversation_language": "fr", "browser": {"name": "Firefox"}}', '{"order_id": "A-1001"}',
     '2026-03-02 09:00:00', '2026-03-02 09:20:00', '2026-03-02 09:15:05'),
    (12, 1, 2, 0, 1, 2, 2, 2, 2, '{}', '{}', '2026-03-02 10:00:00', '2026-03-03 08:20:00', '2026-03-03 08:20:00'),
    (13, 1, 2, 0, null, 3, 3, 3, null, '{}', '{}', '2026-03-03 11:00:00', '2026-03-03 11:05:00', '2026-03-03 11:00:30'),
    (14, 2, 3, 1, 3, 4, 1, 4, null, '{}', '{}', '2026-03-02 12:00:00', '2026-03-02 12:10:00', '2026-03-02 12:00:00');

insert into messages (id, account_id, inbox_id, conversation_id, message_type, content_type, private, sender_type, sender_id,
                      content, content_attributes, created_at, updated_at) values
    (101, 1, 1, 11, 0, 0, false, 'Contact', 1, 'Bonjour, ma facture est fausse', '{}', '2026-03-02 09:00:00', '2026-03-02 09:00:00'),
    (102, 1, 1, 11, 1, 0, false, 'AgentBot', 1, 'Je peux vous aider avec votre facture.', '{}', '2026-03-02 09:00:05', '2026-03-02 09:00:05'),
    (103, 1, 1, 11, 0, 0, false, 'Contact', 1, 'Je veux parler à un humain', '{}', '2026-03-02 09:01:00', '2026-03-02 09:01:00'),
    (104, 1, 1, 11, 1, 0, true, 'User', 1, 'Client gold, priorité', '{}', '2026-03-02 09:05:00', '2026-03-02 09:05:00'),
    (105, 1, 1, 11, 1, 0, false, 'User', 1, 'Bonjour Jean, je regarde', '{}', '2026-03-02 09:06:00', '2026-03-02 09:06:00'),
    (106, 1, 1, 11, 2, 0, false, null, null, 'Alice Martin added billing', '{}', '2026-03-02 09:06:00', '2026-03-02 09:06:00'),
    (107, 1, 1, 11, 0, 0, false, 'Contact', 1, 'Merci', '{}', '2026-03-02 09:10:00', '2026-03-02 09:10:00'),
    (108, 1, 1, 11, 1, 0, false, 'User', 1, 'Corrigé, nouvelle facture envoyée', '{}', '2026-03-02 09:12:00', '2026-03-02 09:12:00'),
    (109, 1, 1, 11, 2, 0, false, null, null, 'Conversation was marked resolved by Alice Martin', '{}', '2026-03-02 09:15:02', '2026-03-02 09:15:02'),
    (110, 1, 1, 11, 3, 9, false, null, null, 'Please rate the conversation', '{}', '2026-03-02 09:15:05', '2026-03-02 09:15:05'),
    (201, 1, 2, 12, 0, 0, false, 'Contact', 2, 'Mon colis n''est pas arrivé', '{}', '2026-03-02 10:00:00', '2026-03-02 10:00:00'),
    (202, 1, 2, 12, 1, 0, true, 'User', 2, 'vérifier le transporteur', '{}', '2026-03-02 10:02:00', '2026-03-02 10:02:00'),
    (203, 1, 2, 12, 1, 0, false, 'User', 2, 'Désolé, je vérifie avec le transporteur', '{}', '2026-03-02 10:04:00', '2026-03-02 10:04:00'),
    (204, 1, 2, 12, 2, 0, false, null, null, 'Bob Stone added urgent, vip', '{}', '2026-03-02 10:04:10', '2026-03-02 10:04:10'),
    (205, 1, 2, 12, 2, 0, false, null, null, 'Conversation was marked as pending by Bob Stone', '{}', '2026-03-02 10:05:00', '2026-03-02 10:05:00'),
    (206, 1, 2, 12, 0, 0, false, 'Contact', 2, 'Des nouvelles ?', '{}', '2026-03-02 10:30:00', '2026-03-02 10:30:00'),
    (207, 1, 2, 12, 1, 0, false, 'User', 2, 'Il arrive demain', '{}', '2026-03-02 10:35:00', '2026-03-02 10:35:00'),
    (208, 1, 2, 12, 2, 0, false, null, null, 'Bob Stone removed urgent', '{}', '2026-03-02 10:38:00', '2026-03-02 10:38:00'),
    (209, 1, 2, 12, 2, 0, false, null, null, 'Conversation was marked resolved by Bob Stone', '{}', '2026-03-02 10:40:01', '2026-03-02 10:40:01'),
    (210, 1, 2, 12, 0, 0, false, 'Contact', 2, 'Il n''est pas arrivé !', '{}', '2026-03-03 08:00:00', '2026-03-03 08:00:00'),
    (211, 1, 2, 12, 2, 0, false, null, null, 'System reopened the conversation due to a new incoming message.', '{}', '2026-03-03 08:00:02', '2026-03-03 08:00:02'),
    (212, 1, 2, 12, 1, 0, false, 'User', 1, 'Je m''en occupe', '{}', '2026-03-03 08:20:00', '2026-03-03 08:20:00'),
    (301, 1, 2, 13, 0, 0, false, 'Contact', 3, 'Bonjour ?', '{}', '2026-03-03 11:00:00', '2026-03-03 11:00:00'),
    (302, 1, 2, 13, 0, 0, false, 'Contact', 3, 'This message was deleted', '{"deleted": true}', '2026-03-03 11:00:30', '2026-03-03 11:01:00'),
    (401, 2, 3, 14, 0, 0, false, 'Contact', 4, 'Hello', '{}', '2026-03-02 12:00:00', '2026-03-02 12:00:00');

insert into reporting_events (id, name, value, account_id, inbox_id, user_id, conversation_id, created_at, updated_at,
                              event_start_time, event_end_time) values
    (1, 'conversation_bot_handoff', 90, 1, 1, null, 11, '2026-03-02 09:01:30', '2026-03-02 09:01:30', '2026-03-02 09:00:00', '2026-03-02 09:01:30'),
    (2, 'first_response', 360, 1, 1, 1, 11, '2026-03-02 09:06:00', '2026-03-02 09:06:00', '2026-03-02 09:00:00', '2026-03-02 09:06:00'),
    (3, 'conversation_resolved', 900, 1, 1, 1, 11, '2026-03-02 09:15:00', '2026-03-02 09:15:00', '2026-03-02 09:00:00', '2026-03-02 09:15:00'),
    (4, 'first_response', 240, 1, 2, 2, 12, '2026-03-02 10:04:00', '2026-03-02 10:04:00', '2026-03-02 10:00:00', '2026-03-02 10:04:00'),
    (5, 'conversation_resolved', 2400, 1, 2, 2, 12, '2026-03-02 10:40:00', '2026-03-02 10:40:00', '2026-03-02 10:00:00', '2026-03-02 10:40:00'),
    (6, 'conversation_opened', 76801, 1, 2, 2, 12, '2026-03-03 08:00:01', '2026-03-03 08:00:01', '2026-03-02 10:40:00', '2026-03-03 08:00:01'),
    (7, 'conversation_resolved', 600, 2, 3, 3, 14, '2026-03-02 12:10:00', '2026-03-02 12:10:00', '2026-03-02 12:00:00', '2026-03-02 12:10:00');

insert into taggings (id, tag_id, taggable_type, taggable_id, context, created_at) values
    (1, 1, 'Conversation', 11, 'labels', '2026-03-02 09:06:00'),
    (2, 3, 'Conversation', 12, 'labels', '2026-03-02 10:04:10'),
    (3, 4, 'Conversation', 13, 'labels', '2026-03-03 11:05:00'),
    (4, 3, 'Contact', 1, 'labels', '2026-03-02 09:30:00');

insert into csat_survey_responses (id, account_id, conversation_id, message_id, rating, feedback_message, contact_id,
                                   assigned_agent_id, created_at, updated_at) values
    (1, 1, 11, 110, 4, 'Rapide, merci', 1, 1, '2026-03-02 09:20:00', '2026-03-02 09:20:00');
