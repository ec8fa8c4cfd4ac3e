/// The `COPY (select …) TO STDOUT` statements that read one Chatwoot account. COPY takes no
/// parameters, so the account id (an integer) and the instants (escaped with PQescapeLiteral by
/// the caller) are the only values in the text. Optional tables and columns (ChatwootSchema) are
/// read only where the source has them.
struct ChatwootQueries {
    let schema: ChatwootSchema
    let account: Int64
    /// Where an incremental import starts reading, per source table, as SQL literals of
    /// `timestamp` values (UTC); nil reads everything.
    let since: ChangedSince?

    struct ChangedSince {
        /// `'…'::timestamp` literals.
        var contacts: String
        var conversations: String
        var messages: String
        var reportingEvents: String
        var taggingsCreated: String
        var csatResponses: String
        /// Taggings have no updated_at: new ones are also found by id.
        var taggingsID: Int64
    }

    private func ts(_ expression: String) -> String { SourceInstant.sql(expression) }

    private func copy(_ select: String) -> String { "copy (\n\(select)\n) to stdout" }

    // MARK: Dimensions

    /// inboxes: id, name, channel_type, handle, twilio medium, updated_at, business hours (json).
    var inboxes: String {
        let handles: [(table: String, column: String, channelType: String)] = [
            ("channel_web_widgets", "website_url", "Channel::WebWidget"),
            ("channel_whatsapp", "phone_number", "Channel::Whatsapp"),
            ("channel_email", "email", "Channel::Email"),
            ("channel_sms", "phone_number", "Channel::Sms"),
            ("channel_twilio_sms", "phone_number", "Channel::TwilioSms"),
            ("channel_facebook_pages", "page_id", "Channel::FacebookPage"),
            ("channel_instagram", "instagram_id", "Channel::Instagram"),
            ("channel_twitter_profiles", "profile_id", "Channel::TwitterProfile"),
            ("channel_telegram", "bot_name", "Channel::Telegram"),
            ("channel_line", "line_channel_id", "Channel::Line"),
            ("channel_voice", "phone_number", "Channel::Voice"),
        ]
        let cases = handles.filter { schema.has($0.table, $0.column) && schema.has($0.table, "id") }.map {
            "when '\($0.channelType)' then (select h.\($0.column)::text from \($0.table) h where h.id = i.channel_id)"
        }
        let handle = cases.isEmpty ? "null::text" : "case i.channel_type \(cases.joined(separator: " ")) end"
        let twilio = schema.has("channel_twilio_sms", "medium")
            ? "case when i.channel_type = 'Channel::TwilioSms' then (select t.medium::bigint from channel_twilio_sms t where t.id = i.channel_id) end"
            : "null::bigint"
        var updated = "i.updated_at"
        var hours = "null::text"
        let w = schema.columns["working_hours"] ?? []
        if ["inbox_id", "day_of_week", "closed_all_day", "open_hour", "open_minutes", "close_hour", "close_minutes", "updated_at"]
            .allSatisfy(w.contains) {
            updated = "greatest(i.updated_at, (select max(w.updated_at) from working_hours w where w.inbox_id = i.id))"
            let openAllDay = w.contains("open_all_day") ? "w.open_all_day" : "false"
            let enabled = schema.has("inboxes", "working_hours_enabled") ? "i.working_hours_enabled" : "null::boolean"
            let zone = schema.has("inboxes", "timezone") ? "i.timezone" : "null::text"
            hours = """
                (select json_build_object(
                    'enabled', \(enabled), 'time_zone', \(zone),
                    'days', json_agg(json_build_object(
                        'day_of_week', w.day_of_week,
                        'closed_all_day', w.closed_all_day,
                        'open_all_day', \(openAllDay),
                        'open', case when w.open_hour is not null then lpad(w.open_hour::text, 2, '0') || ':' || lpad(coalesce(w.open_minutes, 0)::text, 2, '0') end,
                        'close', case when w.close_hour is not null then lpad(w.close_hour::text, 2, '0') || ':' || lpad(coalesce(w.close_minutes, 0)::text, 2, '0') end)
                        order by w.day_of_week))::text
                 from working_hours w where w.inbox_id = i.id having count(*) > 0)
                """
        }
        return copy("""
            select i.id, i.name, i.channel_type, \(handle), \(twilio), \(ts(updated)), \(hours)
            from inboxes i
            where i.account_id = \(account)
            order by i.id
            """)
    }

    /// Human agents: the account's users, and users who left a trace in the account (messages,
    /// reporting events, CSAT responses) but are no longer members. id, name, email, updated_at,
    /// availability.
    var users: String {
        let availability = schema.has("account_users", "availability") ? "au.availability::bigint" : "null::bigint"
        return copy("""
            select u.id, u.name, u.email, \(ts("greatest(u.updated_at, au.updated_at)")), \(availability)
            from users u join account_users au on au.user_id = u.id and au.account_id = \(account)
            union all
            select u.id, u.name, u.email, \(ts("u.updated_at")), null::bigint
            from users u
            where not exists (select 1 from account_users au where au.user_id = u.id and au.account_id = \(account))
              and (exists (select 1 from messages m where m.sender_type = 'User' and m.sender_id = u.id and m.account_id = \(account))
                   or exists (select 1 from reporting_events r where r.user_id = u.id and r.account_id = \(account))
                   or exists (select 1 from csat_survey_responses s where s.assigned_agent_id = u.id and s.account_id = \(account)))
            order by 1
            """)
    }

    /// Virtual agents: agent bots of the account, connected to its inboxes or writing in it, and
    /// Captain assistants where the source has them. table, id, name, updated_at.
    var bots: String {
        var conditions = ["exists (select 1 from messages m where m.sender_type = 'AgentBot' and m.sender_id = b.id and m.account_id = \(account))"]
        if schema.has("agent_bots", "account_id") { conditions.insert("b.account_id = \(account)", at: 0) }
        if schema.has("agent_bot_inboxes", "agent_bot_id") && schema.has("agent_bot_inboxes", "inbox_id") {
            conditions.append("exists (select 1 from agent_bot_inboxes abi join inboxes i on i.id = abi.inbox_id where abi.agent_bot_id = b.id and i.account_id = \(account))")
        }
        var select = """
            select 'agent_bots'::text, b.id::bigint, b.name::text, \(ts("b.updated_at"))
            from agent_bots b
            where \(conditions.joined(separator: "\n   or "))
            """
        if ["id", "name", "account_id", "updated_at"].allSatisfy({ schema.has("captain_assistants", $0) }) {
            select += """

                union all
                select 'captain_assistants'::text, c.id::bigint, c.name::text, \(ts("c.updated_at"))
                from captain_assistants c where c.account_id = \(account)
                """
        }
        return copy(select + "\norder by 1, 2")
    }

    /// teams: id, name, created_at, updated_at.
    var teams: String {
        copy("""
            select t.id, t.name, \(ts("t.created_at")), \(ts("t.updated_at"))
            from teams t where t.account_id = \(account)
            order by t.id
            """)
    }

    /// Topics: the account's labels, and tag names still on its conversations whose label was
    /// deleted. title, updated_at, is_label.
    var labels: String {
        copy("""
            select l.title, \(ts("l.updated_at")), true
            from labels l where l.account_id = \(account) and l.title is not null
            union all
            select distinct tg_name.name, null::text, false
            from taggings tg
            join tags tg_name on tg_name.id = tg.tag_id
            join conversations c on c.id = tg.taggable_id and c.account_id = \(account)
            where tg.taggable_type = 'Conversation' and tg.context = 'labels'
              and not exists (select 1 from labels l where l.account_id = \(account) and l.title = tg_name.name)
            order by 1
            """)
    }

    // MARK: Contacts

    private var contactFilter: String {
        guard let since else { return "" }
        return " and c.updated_at >= \(since.contacts)"
    }

    /// contacts: id, name, email, phone_number, identifier, created_at, updated_at, first inbox's
    /// channel_type, first contact_inbox's source_id.
    var contacts: String {
        copy("""
            select c.id, c.name, c.email, c.phone_number, c.identifier, \(ts("c.created_at")), \(ts("c.updated_at")),
                   first_inbox.channel_type, first_inbox.source_id
            from contacts c
            left join lateral (
                select i.channel_type, ci.source_id
                from contact_inboxes ci join inboxes i on i.id = ci.inbox_id
                where ci.contact_id = c.id
                order by ci.id
                limit 1
            ) as first_inbox on true
            where c.account_id = \(account)\(contactFilter)
            order by c.id
            """)
    }

    /// One row per key of contacts.custom_attributes: contact id, key, value as text, jsonb type,
    /// definition's display name, definition's display type, contact updated_at.
    var contactAttributes: String {
        let definitions = ["account_id", "attribute_key", "attribute_model", "attribute_display_name", "attribute_display_type"]
            .allSatisfy { schema.has("custom_attribute_definitions", $0) }
        let join = definitions
            ? "left join custom_attribute_definitions d on d.account_id = \(account) and d.attribute_model = 1 and d.attribute_key = a.key"
            : ""
        let name = definitions ? "d.attribute_display_name::text" : "null::text"
        let type = definitions ? "d.attribute_display_type::bigint" : "null::bigint"
        return copy("""
            select c.id, a.key, a.value #>> '{}', jsonb_typeof(a.value), \(name), \(type), \(ts("c.updated_at"))
            from contacts c
            cross join lateral jsonb_each(case when jsonb_typeof(c.custom_attributes::jsonb) = 'object'
                                               then c.custom_attributes::jsonb else '{}'::jsonb end) as a
            \(join)
            where c.account_id = \(account)\(contactFilter)
            order by c.id, a.key
            """)
    }

    // MARK: Conversations

    /// Everything about the conversations to import, grouped by conversation: one row shape for
    /// five tables. Columns: conversation id, kind, row id, at, created_at, updated_at,
    /// i1, i2, i3, s1, s2, s3, s4, b1 —
    ///   a conversation:  i1 inbox_id, i2 contact_id, i3 team_id, s1 status, s2 language, s3 custom_attributes, s4 display_id
    ///   b message:       i1 message_type, i2 content_type, i3 sender_id, s1 sender_type, s2 content, s3 deleted, b1 private
    ///   c reporting event: at = event_end_time (created_at without it), i1 user_id, s1 name
    ///   d tagging:       s1 the label's title
    ///   e CSAT response: i1 message_id, i2 rating, i3 assigned_agent_id, s1 feedback_message
    var conversations: String {
        let selected: String
        if let since {
            selected = """
                with touched as (
                    select c.id from conversations c where c.account_id = \(account) and c.updated_at >= \(since.conversations)
                    union
                    select m.conversation_id from messages m where m.account_id = \(account) and m.updated_at >= \(since.messages)
                    union
                    select r.conversation_id from reporting_events r
                    where r.account_id = \(account) and r.conversation_id is not null and r.updated_at >= \(since.reportingEvents)
                    union
                    select tg.taggable_id from taggings tg
                    where tg.taggable_type = 'Conversation' and tg.context = 'labels'
                      and (tg.id > \(since.taggingsID) or tg.created_at >= \(since.taggingsCreated))
                    union
                    select s.conversation_id from csat_survey_responses s where s.account_id = \(account) and s.updated_at >= \(since.csatResponses)
                ),
                selected as materialized (
                    select c.* from conversations c join touched t on t.id = c.id where c.account_id = \(account)
                )
                """
        } else {
            selected = """
                with selected as materialized (
                    select c.* from conversations c where c.account_id = \(account)
                )
                """
        }
        let eventTime = schema.has("reporting_events", "event_end_time") ? "coalesce(r.event_end_time, r.created_at)" : "r.created_at"
        return copy("""
            \(selected)
            select c.id::bigint, 'a'::text, c.id::bigint, \(ts("c.created_at")), \(ts("c.created_at")), \(ts("c.updated_at")),
                   c.inbox_id::bigint, c.contact_id::bigint, c.team_id::bigint,
                   c.status::text, (c.additional_attributes::jsonb ->> 'conversation_language'), c.custom_attributes::text,
                   c.display_id::text, null::boolean
            from selected c
            union all
            select m.conversation_id::bigint, 'b', m.id::bigint, \(ts("m.created_at")), \(ts("m.created_at")), \(ts("m.updated_at")),
                   m.message_type::bigint, m.content_type::bigint, m.sender_id::bigint,
                   m.sender_type::text, m.content::text,
                   case when json_typeof(m.content_attributes::json) = 'object' then m.content_attributes::jsonb ->> 'deleted' end,
                   null::text, m.private
            from messages m join selected c on c.id = m.conversation_id
            where m.account_id = \(account)
            union all
            select r.conversation_id::bigint, 'c', r.id::bigint, \(ts(eventTime)), \(ts("r.created_at")), \(ts("r.updated_at")),
                   r.user_id::bigint, null, null, r.name::text, null, null, null, null
            from reporting_events r join selected c on c.id = r.conversation_id
            where r.account_id = \(account)
            union all
            select tg.taggable_id::bigint, 'd', tg.id::bigint, \(ts("tg.created_at")), \(ts("tg.created_at")), null,
                   null, null, null, tag.name::text, null, null, null, null
            from taggings tg
            join tags tag on tag.id = tg.tag_id
            join selected c on c.id = tg.taggable_id
            where tg.taggable_type = 'Conversation' and tg.context = 'labels'
            union all
            select s.conversation_id::bigint, 'e', s.id::bigint, \(ts("s.created_at")), \(ts("s.created_at")), \(ts("s.updated_at")),
                   s.message_id::bigint, s.rating::bigint, s.assigned_agent_id::bigint, s.feedback_message::text, null, null, null, null
            from csat_survey_responses s join selected c on c.id = s.conversation_id
            where s.account_id = \(account)
            order by 1, 2, 4, 3
            """)
    }
}
