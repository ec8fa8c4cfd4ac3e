-- What happens in the account after the first import (DERIVATION.md, "After the changes"):
--   conversation 13: Alice answers and resolves it;
--   conversation 12: Alice removes the label vip (the tagging goes, an activity message stays);
--   contact 2: the plan custom attribute changes to gold;
--   conversation 15: a new web chat from Jean, not answered yet.
insert into messages (id, account_id, inbox_id, conversation_id, message_type, content_type, private, sender_type, sender_id,
                      content, content_attributes, created_at, updated_at) values
    (303, 1, 2, 13, 1, 0, false, 'User', 1, 'Bonjour Li, que puis-je faire ?', '{}', '2026-03-03 12:00:00', '2026-03-03 12:00:00'),
    (304, 1, 2, 13, 2, 0, false, null, null, 'Conversation was marked resolved by Alice Martin', '{}', '2026-03-03 12:05:01', '2026-03-03 12:05:01'),
    (213, 1, 2, 12, 2, 0, false, null, null, 'Alice Martin removed vip', '{}', '2026-03-03 12:10:00', '2026-03-03 12:10:00'),
    (501, 1, 1, 15, 0, 0, false, 'Contact', 1, 'Encore moi', '{}', '2026-03-03 13:00:00', '2026-03-03 13:00:00');
insert into reporting_events (id, name, value, account_id, inbox_id, user_id, conversation_id, created_at, updated_at,
                              event_start_time, event_end_time) values
    (8, 'conversation_resolved', 3900, 1, 2, 1, 13, '2026-03-03 12:05:00', '2026-03-03 12:05:00', '2026-03-03 11:00:00', '2026-03-03 12:05:00');
update conversations set status = 1, assignee_id = 1, updated_at = '2026-03-03 12:05:00' where id = 13;
delete from taggings where id = 2;
update conversations set updated_at = '2026-03-03 12:10:00', cached_label_list = '' where id = 12;
update contacts set custom_attributes = '{"plan": "gold"}', updated_at = '2026-03-03 12:30:00' where id = 2;
insert into conversations (id, account_id, inbox_id, status, assignee_id, contact_id, display_id, contact_inbox_id, team_id,
                           additional_attributes, custom_attributes, created_at, updated_at, last_activity_at) values
    (15, 1, 1, 0, null, 1, 4, 1, null, '{}', '{}', '2026-03-03 13:00:00', '2026-03-03 13:00:00', '2026-03-03 13:00:00');
