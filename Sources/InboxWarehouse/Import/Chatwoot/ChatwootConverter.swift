/// Turns rows of Chatwoot's tables into records of the inbox event log (input-format.md). The
/// mapping and every reading it makes are written down in docs/sources/chatwoot.md.
///
/// Ids: `<source>:<account>:<table>:<id>` (`cw:1:conversation:42`), so several Chatwoot
/// installations and accounts share one warehouse; records derived from a row add a suffix
/// (`cw:1:reporting_event:7:queue`). Every record carries `chatwoot_row` (`messages/123`), kept in
/// the record's `extra`, so a reject names the table and row it came from.
final class ChatwootConverter {
    let prefix: String
    let accountID: Int64
    let chatwootURL: String?

    /// Filled by the dimension streams, read by the conversation stream.
    private(set) var mediumByInbox: [Int64: String] = [:]
    private var userIDsByName: [String: [Int64]] = [:]
    private var knownLabels: Set<String> = []
    private var emittedUnknownLabels: Set<String> = []

    /// What the conversion skipped or derived, for the summary.
    var counters = ChatwootImportSummary.Counters()
    /// The latest `updated_at` and highest id met per source table, for the high-water marks.
    var maxima: [String: (updatedAt: String?, id: Int64?)] = [:]

    init(sourceName: String, accountID: Int64, chatwootURL: String?) {
        self.prefix = "\(sourceName):\(accountID):"
        self.accountID = accountID
        var url = chatwootURL
        while let last = url?.last, last == "/" { url?.removeLast() }
        self.chatwootURL = url
    }

    func id(_ table: String, _ value: Int64) -> String { "\(prefix)\(table):\(value)" }

    func topicID(_ title: String) -> String { "\(prefix)label:\(title)" }

    func note(_ table: String, updatedAt: String?, id: Int64? = nil) {
        var current = maxima[table] ?? (nil, nil)
        if let updatedAt, current.updatedAt.map({ updatedAt > $0 }) ?? true { current.updatedAt = updatedAt }
        if let id, current.id.map({ id > $0 }) ?? true { current.id = id }
        maxima[table] = current
    }

    // MARK: Media

    /// Our `medium` for an inbox's `channel_type` (Chatwoot's channel classes); Twilio's channel
    /// carries its own medium (0 sms, 1 whatsapp). Unknown classes keep their name, upper-cased.
    static func medium(channelType: String?, twilioMedium: Int64? = nil) -> String {
        switch channelType {
        case "Channel::WebWidget": return "WEBCHAT"
        case "Channel::FacebookPage": return "FACEBOOK"
        case "Channel::Instagram": return "INSTAGRAM"
        case "Channel::TwitterProfile": return "TWITTER"
        case "Channel::Whatsapp": return "WHATSAPP"
        case "Channel::TwilioSms": return twilioMedium == 1 ? "WHATSAPP" : "SMS"
        case "Channel::Sms": return "SMS"
        case "Channel::Email": return "EMAIL"
        case "Channel::Api": return "API"
        case "Channel::Telegram": return "TELEGRAM"
        case "Channel::Line": return "LINE"
        case "Channel::Voice": return "VOICE"
        case "Channel::Tiktok": return "TIKTOK"
        case let other?:
            let name = other.hasPrefix("Channel::") ? String(other.dropFirst("Channel::".count)) : other
            return name.isEmpty ? "UNKNOWN" : name.uppercased()
        case nil: return "UNKNOWN"
        }
    }

    // MARK: Dimensions

    /// inboxes → `channel`. Columns: id, name, channel_type, handle, twilio medium, updated_at,
    /// business hours (json).
    func inbox(_ row: [String?]) -> [UInt8]? {
        guard let inboxID = row[0].flatMap(Int64.init) else { return nil }
        let medium = Self.medium(channelType: row[2], twilioMedium: row[4].flatMap(Int64.init))
        mediumByInbox[inboxID] = medium
        var record = NDJSONRecord("channel")
        record.set("id", id("inbox", inboxID))
        record.set("medium", medium)
        record.set("name", nonEmpty(row[3]) ?? row[1] ?? "")
        record.set("display_name", row[1])
        record.set("updated_at", row[5])
        record.set("chatwoot_row", "inboxes/\(inboxID)")
        record.set("channel_type", row[2])
        record.set("business_hours", json: row[6])
        return record.line
    }

    /// users (members of the account, and former members who left a trace in it) → human
    /// `agent`. Columns: id, name, email, updated_at, availability.
    func user(_ row: [String?]) -> [UInt8]? {
        guard let userID = row[0].flatMap(Int64.init) else { return nil }
        let name = row[1] ?? ""
        userIDsByName[name, default: []].append(userID)
        var record = NDJSONRecord("agent")
        record.set("id", id("user", userID))
        record.set("name", name)
        record.set("kind", "HUMAN")
        record.set("email", nonEmpty(row[2]))
        record.set("reference", String(userID))
        record.set("updated_at", row[3])
        record.set("chatwoot_row", "users/\(userID)")
        record.set("chatwoot_availability", row[4].flatMap(Int.init).map(Self.availability))
        return record.line
    }

    static func availability(_ value: Int) -> String {
        switch value {
        case 0: return "online"
        case 1: return "offline"
        case 2: return "busy"
        default: return String(value)
        }
    }

    /// agent_bots and captain_assistants → virtual `agent`. Columns: table, id, name, updated_at.
    func bot(_ row: [String?]) -> [UInt8]? {
        guard let table = row[0], let botID = row[1].flatMap(Int64.init) else { return nil }
        let singular = table == "captain_assistants" ? "captain_assistant" : "agent_bot"
        var record = NDJSONRecord("agent")
        record.set("id", id(singular, botID))
        record.set("name", nonEmpty(row[2]) ?? "\(singular) \(botID)")
        record.set("kind", "VIRTUAL")
        record.set("updated_at", row[3])
        record.set("chatwoot_row", "\(table)/\(botID)")
        return record.line
    }

    /// teams → `team`. Columns: id, name, created_at, updated_at.
    func team(_ row: [String?]) -> [UInt8]? {
        guard let teamID = row[0].flatMap(Int64.init), let createdAt = row[2] else { return nil }
        var record = NDJSONRecord("team")
        record.set("id", id("team", teamID))
        record.set("name", row[1] ?? "")
        record.set("created_at", createdAt)
        record.set("updated_at", row[3])
        record.set("chatwoot_row", "teams/\(teamID)")
        return record.line
    }

    /// labels (and tag names still on conversations whose label was deleted) → `topic`.
    /// Columns: title, updated_at, is_label ("t"/"f").
    func label(_ row: [String?]) -> [UInt8]? {
        guard let title = nonEmpty(row[0]) else { return nil }
        let isLabel = row[2] == "t"
        knownLabels.insert(title)
        var record = NDJSONRecord("topic")
        record.set("id", topicID(title))
        record.set("name", title)
        record.set("active", boolean: isLabel)
        record.set("updated_at", row[1])
        record.set("chatwoot_row", isLabel ? "labels/\(title)" : "tags/\(title)")
        return record.line
    }

    /// contacts → `contact`. Columns: id, name, email, phone_number, identifier, created_at,
    /// updated_at, first inbox's channel_type, first contact_inbox's source_id.
    func contact(_ row: [String?]) -> [UInt8]? {
        guard let contactID = row[0].flatMap(Int64.init), let createdAt = row[5] else { return nil }
        note("contacts", updatedAt: row[6], id: contactID)
        let medium = row[7] == nil ? "UNKNOWN" : Self.medium(channelType: row[7])
        let email = nonEmpty(row[2]), phone = nonEmpty(row[3]), identifier = nonEmpty(row[4]), sourceID = nonEmpty(row[8])
        let primary: String?
        switch medium {
        case "WHATSAPP", "SMS", "VOICE": primary = phone ?? sourceID ?? email ?? identifier
        case "EMAIL": primary = email ?? sourceID ?? phone ?? identifier
        case "WEBCHAT", "API": primary = email ?? phone ?? identifier ?? sourceID
        default: primary = sourceID ?? email ?? phone ?? identifier
        }
        var record = NDJSONRecord("contact")
        record.set("id", id("contact", contactID))
        record.set("medium", medium)
        record.set("created_at", createdAt)
        record.set("primary_identifier", primary)
        record.set("secondary_identifier", nonEmpty(row[1]))
        record.set("updated_at", row[6])
        record.set("chatwoot_row", "contacts/\(contactID)")
        return record.line
    }

    /// contacts.custom_attributes, one key each → `contact_attribute`. Columns: contact id, key,
    /// value as text, jsonb type, definition's display name, definition's display type, updated_at.
    func contactAttribute(_ row: [String?]) -> [UInt8]? {
        guard let contactID = row[0].flatMap(Int64.init), let key = nonEmpty(row[1]) else { return nil }
        var record = NDJSONRecord("contact_attribute")
        record.set("contact_id", id("contact", contactID))
        record.set("attribute_id", "\(prefix)custom_attribute:\(key)")
        record.set("name", nonEmpty(row[4]) ?? key)
        record.set("attribute_type", Self.attributeType(displayType: row[5].flatMap(Int.init), jsonType: row[3]))
        record.set("value", row[3] == "null" ? nil : row[2])
        record.set("updated_at", row[6])
        record.set("chatwoot_row", "contacts/\(contactID)/custom_attributes/\(key)")
        return record.line
    }

    /// custom_attribute_definitions.attribute_display_type (text 0, number 1, currency 2,
    /// percent 3, link 4, date 5, list 6, checkbox 7); without a definition, the JSON type.
    static func attributeType(displayType: Int?, jsonType: String?) -> String {
        switch displayType {
        case 0: return "TEXT"
        case 1: return "NUMBER"
        case 2: return "CURRENCY"
        case 3: return "PERCENT"
        case 4: return "LINK"
        case 5: return "DATE"
        case 6: return "LIST"
        case 7: return "BOOLEAN"
        case let other?: return "TYPE_\(other)"
        case nil:
            switch jsonType {
            case "number": return "NUMBER"
            case "boolean": return "BOOLEAN"
            case "array": return "LIST"
            default: return "TEXT"
            }
        }
    }

    /// The account user a name in an activity message stands for, when exactly one has it.
    func userID(named name: String?) -> Int64? {
        guard let name, let ids = userIDsByName[name], ids.count == 1 else { return nil }
        return ids[0]
    }

    // MARK: Conversations

    /// One conversation with all its rows, as the conversation stream delivers them (grouped by
    /// conversation, each kind in time order).
    struct Bundle {
        var conversation: ConversationRow?
        var messages: [MessageRow] = []
        var events: [ReportingEventRow] = []
        var taggings: [TaggingRow] = []
        var responses: [CsatResponseRow] = []
    }

    struct ConversationRow {
        let id: Int64, inboxID: Int64, contactID: Int64?, teamID: Int64?, status: Int?, displayID: Int64?
        let language: String?, customAttributes: String?, createdAt: String, updatedAt: String
    }

    struct MessageRow {
        let id: Int64, messageType: Int, contentType: Int?, senderID: Int64?, senderType: String?
        let content: String?, isDeleted: Bool, isPrivate: Bool, createdAt: String, updatedAt: String

        var isIncoming: Bool { messageType == 0 && !isPrivate }
        var isHumanReply: Bool { messageType == 1 && !isPrivate && senderType == "User" && !isDeleted }
        var isBotReply: Bool {
            messageType == 1 && !isPrivate && (senderType == "AgentBot" || senderType == "Captain::Assistant")
        }
    }

    struct ReportingEventRow {
        let id: Int64, name: String, userID: Int64?, at: String, updatedAt: String
    }

    struct TaggingRow {
        let id: Int64, title: String, createdAt: String?
    }

    struct CsatResponseRow {
        let id: Int64, messageID: Int64?, rating: Int64?, agentID: Int64?, feedback: String?, createdAt: String, updatedAt: String
    }

    /// Adds one row of the conversation stream to `bundle`. Columns: conversation id, kind
    /// (a conversation, b message, c reporting event, d tagging, e csat response), row id, at,
    /// created_at, updated_at, i1, i2, i3, s1, s2, s3, s4, b1 (see ChatwootQueries.conversations).
    static func add(_ row: [String?], to bundle: inout Bundle) {
        guard row.count >= 14, let kind = row[1], let rowID = row[2].flatMap(Int64.init) else { return }
        let int = { (index: Int) in row[index].flatMap(Int64.init) }
        switch kind {
        case "a":
            guard let inboxID = int(6), let createdAt = row[4], let updatedAt = row[5] else { return }
            bundle.conversation = ConversationRow(
                id: rowID, inboxID: inboxID, contactID: int(7), teamID: int(8), status: row[9].flatMap(Int.init),
                displayID: row[12].flatMap(Int64.init), language: row[10], customAttributes: row[11],
                createdAt: createdAt, updatedAt: updatedAt)
        case "b":
            guard let createdAt = row[4], let updatedAt = row[5], let messageType = row[6].flatMap(Int.init) else { return }
            bundle.messages.append(MessageRow(
                id: rowID, messageType: messageType, contentType: row[7].flatMap(Int.init), senderID: int(8),
                senderType: row[9], content: row[10], isDeleted: row[11] == "true", isPrivate: row[13] == "t",
                createdAt: createdAt, updatedAt: updatedAt))
        case "c":
            guard let name = row[9], let at = row[3], let updatedAt = row[5] else { return }
            bundle.events.append(ReportingEventRow(id: rowID, name: name, userID: int(6), at: at, updatedAt: updatedAt))
        case "d":
            guard let title = nonEmpty(row[9]) else { return }
            bundle.taggings.append(TaggingRow(id: rowID, title: title, createdAt: row[4]))
        case "e":
            guard let createdAt = row[4], let updatedAt = row[5] else { return }
            bundle.responses.append(CsatResponseRow(id: rowID, messageID: int(6), rating: int(7), agentID: int(8),
                                                    feedback: nonEmpty(row[9]), createdAt: createdAt, updatedAt: updatedAt))
        default:
            return
        }
    }

    /// A status change about to be written, with what the queue walk needs to know of it.
    private struct StatusCandidate {
        let at: String
        /// Order among candidates at the same instant: initial 0, reporting event 1, activity 2.
        let rank: Int
        let id: String
        let status: String
        var agentUserID: Int64?
        var resolvedBy: String?
        var resolveTrigger: String?
        var isHandoff = false
        var isHandoffError = false
        /// A return to NEW that puts the conversation back in the agents' queue (not a hand-off).
        var isReopen = false
        /// Row of origin (`reporting_events/7`, `messages/9`) and the id stem its queue entry uses.
        let source: String
        let stem: String
    }

    /// All records of one conversation, in an order the loader takes as it comes.
    func conversation(_ bundle: Bundle, emit: ([UInt8]) throws -> Void) throws {
        guard let conversation = bundle.conversation else { return }
        counters.conversations += 1
        let conversationID = id("conversation", conversation.id)
        let teamID = conversation.teamID.map { id("team", $0) }
        let medium = mediumByInbox[conversation.inboxID]
        note("conversations", updatedAt: conversation.updatedAt, id: conversation.id)

        // The conversation's version: the latest change of any of its rows. Records derived from
        // several rows carry it as updated_at, so a re-derivation replaces what an earlier one wrote.
        var version = conversation.updatedAt
        for message in bundle.messages {
            note("messages", updatedAt: message.updatedAt, id: message.id)
            version = max(version, message.updatedAt)
        }
        for event in bundle.events {
            note("reporting_events", updatedAt: event.updatedAt, id: event.id)
            version = max(version, event.updatedAt)
        }
        for tagging in bundle.taggings {
            note("taggings", updatedAt: tagging.createdAt, id: tagging.id)
            if let created = tagging.createdAt { version = max(version, created) }
        }
        for response in bundle.responses {
            note("csat_survey_responses", updatedAt: response.updatedAt, id: response.id)
            version = max(version, response.updatedAt)
        }

        // The conversation itself.
        var record = NDJSONRecord("conversation")
        record.set("id", conversationID)
        record.set("channel_id", id("inbox", conversation.inboxID))
        record.set("contact_id", conversation.contactID.map { id("contact", $0) })
        record.set("created_at", conversation.createdAt)
        if let base = chatwootURL, let display = conversation.displayID {
            record.set("url", "\(base)/app/accounts/\(accountID)/conversations/\(display)")
        }
        record.set("language", nonEmpty(conversation.language))
        record.set("updated_at", conversation.updatedAt)
        record.set("chatwoot_row", "conversations/\(conversation.id)")
        record.set("chatwoot_status", conversation.status.map(Self.conversationStatus))
        record.set("custom_attributes", json: conversation.customAttributes == "{}" ? nil : conversation.customAttributes)
        try emit(record.line)

        // Messages.
        for message in bundle.messages {
            if let line = messageRecord(message, conversationID: conversationID, teamID: teamID, medium: medium) {
                try emit(line)
            }
        }

        // Status changes and queue entries from reporting events, activity messages and incoming messages.
        try statusesAndQueue(bundle, conversation: conversation, conversationID: conversationID, teamID: teamID, emit: emit)

        // Labels → topic applications.
        try labelApplications(bundle, conversation: conversation, conversationID: conversationID, teamID: teamID,
                              version: version, emit: emit)

        // CSAT surveys: one per survey message (content_type 9), completed by its response.
        try surveys(bundle, conversationID: conversationID, teamID: teamID, emit: emit)
    }

    static func conversationStatus(_ value: Int) -> String {
        switch value {
        case 0: return "open"
        case 1: return "resolved"
        case 2: return "pending"
        case 3: return "snoozed"
        default: return String(value)
        }
    }

    private func messageRecord(_ message: MessageRow, conversationID: String, teamID: String?, medium: String?) -> [UInt8]? {
        if message.messageType == 2 {
            counters.activityMessages += 1
            return nil
        }
        if message.isPrivate {
            counters.privateNotes += 1
            return nil
        }
        var record = NDJSONRecord("message")
        record.set("id", id("message", message.id))
        record.set("conversation_id", conversationID)
        record.set("created_at", message.createdAt)
        let isSurvey = message.contentType == 9
        switch message.messageType {
        case 0:
            record.set("direction", "INBOUND")
            record.set("origin", "CONTACT")
        case 1:
            record.set("direction", "OUTBOUND")
            switch message.senderType {
            case "User":
                record.set("origin", "AGENT")
                record.set("outbound_type", isSurvey ? "CSAT_SURVEY" : "REPLY")
                record.set("agent_id", message.senderID.map { id("user", $0) })
                record.set("team_id", teamID)
            case "AgentBot", "Captain::Assistant":
                record.set("origin", "VIRTUAL_AGENT")
                record.set("outbound_type", isSurvey ? "CSAT_SURVEY" : "REPLY")
                let table = message.senderType == "AgentBot" ? "agent_bot" : "captain_assistant"
                record.set("agent_id", message.senderID.map { id(table, $0) })
                record.set("system_user_type", "VIRTUAL_AGENT")
            default:
                record.set("origin", "AUTOMATION")
                record.set("outbound_type", isSurvey ? "CSAT_SURVEY" : "AUTO_RESPONSE")
                record.set("system_user_type", "AUTOMATION")
            }
        case 3:
            record.set("direction", "OUTBOUND")
            record.set("origin", "AUTOMATION")
            record.set("outbound_type", isSurvey ? "CSAT_SURVEY" : "AUTO_RESPONSE")
            record.set("system_user_type", "AUTO_RESPONDER")
        default:
            counters.otherMessages += 1
            return nil
        }
        record.set("message_type", medium == "EMAIL" ? "EMAIL" : "DIRECT_MESSAGE")
        record.set("content", message.content)
        record.set("updated_at", message.updatedAt)
        // Chatwoot marks a deleted message in content_attributes and keeps the row; the time of
        // the deletion is the row's last update.
        record.set("deleted_at", message.isDeleted ? message.updatedAt : nil)
        record.set("chatwoot_row", "messages/\(message.id)")
        return record.line
    }

    private func statusesAndQueue(_ bundle: Bundle, conversation: ConversationRow, conversationID: String, teamID: String?,
                                  emit: ([UInt8]) throws -> Void) throws {
        let botResolutions = bundle.events.filter { $0.name == "conversation_bot_resolved" }
        let hasBotReply = bundle.messages.contains { $0.isBotReply }
        let botHandled = hasBotReply || !botResolutions.isEmpty || bundle.events.contains { $0.name == "conversation_bot_handoff" }

        var candidates: [StatusCandidate] = []
        if botHandled {
            // Chatwoot creates a conversation of an inbox with an active bot as pending.
            candidates.append(StatusCandidate(at: conversation.createdAt, rank: 0, id: id("conversation", conversation.id) + ":initial_status",
                                              status: "PENDING", source: "conversations/\(conversation.id)",
                                              stem: id("conversation", conversation.id)))
        }
        for event in bundle.events {
            let stem = id("reporting_event", event.id)
            let source = "reporting_events/\(event.id)"
            switch event.name {
            case "conversation_resolved":
                var candidate = StatusCandidate(at: event.at, rank: 1, id: stem, status: "RESOLVED", source: source, stem: stem)
                // Chatwoot records the assignee at the time of the resolution (its agent reports
                // count resolutions by it); an English activity message may name the resolver.
                candidate.agentUserID = event.userID
                if botResolutions.contains(where: { abs(SourceInstant.seconds(from: $0.at, to: event.at) ?? .infinity) <= 60 }) {
                    candidate.resolvedBy = "VIRTUAL_AGENT"
                    candidate.resolveTrigger = "VIRTUAL_AGENT"
                    candidate.agentUserID = nil
                } else if event.userID != nil {
                    candidate.resolvedBy = "AGENT"
                    candidate.resolveTrigger = "HUMAN_AGENT"
                }
                candidates.append(candidate)
            case "conversation_opened":
                var candidate = StatusCandidate(at: event.at, rank: 1, id: stem, status: "NEW", source: source, stem: stem)
                candidate.isReopen = true
                candidates.append(candidate)
            case "conversation_bot_handoff":
                var candidate = StatusCandidate(at: event.at, rank: 1, id: stem, status: "NEW", source: source, stem: stem)
                candidate.isHandoff = true
                candidates.append(candidate)
            default:
                continue
            }
        }
        // Activity messages (English): pending/snoozed, reopen, bot errors, and who resolved.
        for message in bundle.messages where message.messageType == 2 {
            guard let activity = ChatwootActivity.parse(message.content) else { continue }
            let stem = id("message", message.id)
            let source = "messages/\(message.id)"
            switch activity {
            case .pending(let user):
                var candidate = StatusCandidate(at: message.createdAt, rank: 2, id: stem + ":status", status: "PENDING",
                                                source: source, stem: stem)
                candidate.agentUserID = userID(named: user)
                candidates.append(candidate)
            case .reopened(let user):
                var candidate = StatusCandidate(at: message.createdAt, rank: 2, id: stem + ":status", status: "NEW",
                                                source: source, stem: stem)
                candidate.agentUserID = userID(named: user)
                candidate.isReopen = true
                candidates.append(candidate)
            case .botErrorOpened:
                // The hand-off Chatwoot recorded for it (within a minute) is marked as an error;
                // without one, the activity is the hand-off.
                if let index = candidates.firstIndex(where: {
                    $0.isHandoff && abs(SourceInstant.seconds(from: $0.at, to: message.createdAt) ?? .infinity) <= 60
                }) {
                    candidates[index].isHandoffError = true
                } else {
                    var candidate = StatusCandidate(at: message.createdAt, rank: 2, id: stem + ":status", status: "NEW",
                                                    source: source, stem: stem)
                    candidate.isHandoff = true
                    candidate.isHandoffError = true
                    candidates.append(candidate)
                }
            case .resolvedByUser(let user):
                refineResolution(&candidates, at: message.createdAt) { candidate in
                    if user == ChatwootActivity.automationUser {
                        candidate.resolvedBy = "SYSTEM"
                        candidate.resolveTrigger = "AUTOMATION"
                        candidate.agentUserID = nil
                    } else if let resolver = self.userID(named: user) {
                        candidate.resolvedBy = "AGENT"
                        candidate.resolveTrigger = "HUMAN_AGENT"
                        candidate.agentUserID = resolver
                    }
                }
            case .autoResolved:
                refineResolution(&candidates, at: message.createdAt) { candidate in
                    candidate.resolvedBy = "SYSTEM"
                    candidate.resolveTrigger = "AUTO_RESOLVE"
                    candidate.agentUserID = nil
                }
            case .resolvedByContact:
                refineResolution(&candidates, at: message.createdAt) { candidate in
                    candidate.resolvedBy = "SYSTEM"
                    candidate.resolveTrigger = nil
                    candidate.agentUserID = nil
                }
            case .labels:
                continue
            }
        }

        // One walk in time order over the candidates and the messages.
        enum Step { case status(Int), message(Int) }
        var steps: [(at: String, rank: Int, tie: String, step: Step)] = []
        for (index, candidate) in candidates.enumerated() { steps.append((candidate.at, candidate.rank, candidate.id, .status(index))) }
        for (index, message) in bundle.messages.enumerated() where message.messageType != 2 && !message.isPrivate {
            steps.append((message.createdAt, 3, String(message.id), .message(index)))
        }
        steps.sort { ($0.at, $0.rank, $0.tie) < ($1.at, $1.rank, $1.tie) }

        var current = "NEW"
        var inBotPhase = botHandled
        var awaitingReply = false
        for step in steps {
            switch step.step {
            case .status(let index):
                let candidate = candidates[index]
                let changes = candidate.status == "RESOLVED" || candidate.status != current
                if changes {
                    try emit(statusRecord(candidate, conversationID: conversationID, teamID: teamID))
                    current = candidate.status
                    counters.statusChanges += 1
                }
                if candidate.status == "RESOLVED" { awaitingReply = false }
                if candidate.isHandoff && inBotPhase {
                    try emit(queueRecord(id: candidate.stem + ":queue", conversationID: conversationID, at: candidate.at,
                                         startedBy: "VA_HANDED_OVER_CONVERSATION",
                                         reason: candidate.isHandoffError ? "ERROR" : nil, inboundMessageID: nil,
                                         source: candidate.source))
                    inBotPhase = false
                    awaitingReply = true
                } else if changes && candidate.isReopen && !inBotPhase {
                    try emit(queueRecord(id: candidate.stem + ":queue", conversationID: conversationID, at: candidate.at,
                                         startedBy: "REOPENED", reason: nil, inboundMessageID: nil, source: candidate.source))
                    awaitingReply = true
                }
            case .message(let index):
                let message = bundle.messages[index]
                if message.isIncoming {
                    if current == "RESOLVED" {
                        // Chatwoot reopens a resolved conversation when the contact writes again.
                        let reopen = StatusCandidate(at: message.createdAt, rank: 3, id: id("message", message.id) + ":reopen",
                                                     status: "NEW", source: "messages/\(message.id)", stem: id("message", message.id))
                        try emit(statusRecord(reopen, conversationID: conversationID, teamID: teamID))
                        current = "NEW"
                        counters.statusChanges += 1
                    }
                    if !inBotPhase && !awaitingReply {
                        try emit(queueRecord(id: id("message", message.id) + ":queue", conversationID: conversationID,
                                             at: message.createdAt, startedBy: "INBOUND_MESSAGE", reason: nil,
                                             inboundMessageID: id("message", message.id), source: "messages/\(message.id)"))
                        awaitingReply = true
                    }
                } else if message.isHumanReply {
                    awaitingReply = false
                }
            }
        }
    }

    /// Applies what a "resolved by" activity says to the latest resolution at or before it (within
    /// ten minutes: the activity is written by a background job after the resolution).
    private func refineResolution(_ candidates: inout [StatusCandidate], at: String, _ change: (inout StatusCandidate) -> Void) {
        var best: Int?
        for (index, candidate) in candidates.enumerated() where candidate.status == "RESOLVED" && candidate.rank == 1 {
            guard let seconds = SourceInstant.seconds(from: candidate.at, to: at), seconds >= -5, seconds <= 600 else { continue }
            if let current = best, candidates[current].at >= candidate.at { continue }
            best = index
        }
        if let best, candidates[best].resolvedBy != "VIRTUAL_AGENT" { change(&candidates[best]) }
    }

    private func statusRecord(_ candidate: StatusCandidate, conversationID: String, teamID: String?) -> [UInt8] {
        var record = NDJSONRecord("status_change")
        record.set("id", candidate.id)
        record.set("conversation_id", conversationID)
        record.set("at", candidate.at)
        record.set("status", candidate.status)
        if let agent = candidate.agentUserID {
            record.set("agent_id", id("user", agent))
            record.set("team_id", teamID)
        }
        if candidate.status == "RESOLVED" {
            record.set("resolved_by", candidate.resolvedBy)
            record.set("resolve_trigger", candidate.resolveTrigger)
        }
        record.set("chatwoot_row", candidate.source)
        return record.line
    }

    private func queueRecord(id queueID: String, conversationID: String, at: String, startedBy: String, reason: String?,
                             inboundMessageID: String?, source: String) -> [UInt8] {
        counters.queueEntries += 1
        var record = NDJSONRecord("queue_entry")
        record.set("id", queueID)
        record.set("conversation_id", conversationID)
        record.set("at", at)
        record.set("started_by", startedBy)
        record.set("handover_reason", reason)
        record.set("inbound_message_id", inboundMessageID)
        record.set("chatwoot_row", source)
        return record.line
    }

    /// Labels: the English label activities give when each label was added and removed; the
    /// taggings give the labels the conversation carries now. See docs/sources/chatwoot.md.
    private func labelApplications(_ bundle: Bundle, conversation: ConversationRow, conversationID: String, teamID: String?,
                                   version: String, emit: ([UInt8]) throws -> Void) throws {
        struct Application {
            let id: String
            let title: String
            let at: String
            let agent: Int64?
            var removedAt: String?
            let source: String
        }
        var open: [String: Application] = [:]
        var applications: [Application] = []
        for message in bundle.messages where message.messageType == 2 {
            guard case .labels(let user, let isAdded, let titles)? = ChatwootActivity.parse(message.content) else { continue }
            let agent = userID(named: user)
            for title in titles {
                if isAdded {
                    if open[title] == nil {
                        open[title] = Application(id: id("message", message.id) + ":label:" + title, title: title,
                                                  at: message.createdAt, agent: agent, removedAt: nil, source: "messages/\(message.id)")
                    }
                } else if var application = open.removeValue(forKey: title) {
                    application.removedAt = message.createdAt
                    applications.append(application)
                } else {
                    // Removed, but added before the history we can read: applied since the start.
                    applications.append(Application(id: id("message", message.id) + ":label:" + title + ":removed", title: title,
                                                    at: conversation.createdAt, agent: nil, removedAt: message.createdAt,
                                                    source: "messages/\(message.id)"))
                }
            }
        }
        let current = Dictionary(bundle.taggings.map { ($0.title, $0) }, uniquingKeysWith: { first, _ in first })
        for title in open.keys.sorted() {
            guard var application = open[title] else { continue }
            // Added, and not carried any more though no removal was recorded: removed at the
            // conversation's last update at the latest.
            if current[title] == nil { application.removedAt = conversation.updatedAt }
            applications.append(application)
        }
        for tagging in bundle.taggings where open[tagging.title] == nil {
            applications.append(Application(id: id("tagging", tagging.id), title: tagging.title,
                                             at: tagging.createdAt ?? conversation.createdAt, agent: nil, removedAt: nil,
                                             source: "taggings/\(tagging.id)"))
        }
        for application in applications {
            if !knownLabels.contains(application.title) && !emittedUnknownLabels.contains(application.title) {
                // A label deleted since: its topic gets a record of its own, inactive.
                emittedUnknownLabels.insert(application.title)
                var topic = NDJSONRecord("topic")
                topic.set("id", topicID(application.title))
                topic.set("name", application.title)
                topic.set("active", boolean: false)
                topic.set("chatwoot_row", application.source)
                try emit(topic.line)
            }
            var record = NDJSONRecord("topic_applied")
            record.set("id", application.id)
            record.set("conversation_id", conversationID)
            record.set("topic_id", topicID(application.title))
            record.set("at", application.at)
            if let agent = application.agent {
                record.set("agent_id", id("user", agent))
                record.set("team_id", teamID)
            }
            record.set("removed_at", application.removedAt)
            record.set("updated_at", version)
            record.set("chatwoot_row", application.source)
            counters.topicApplications += 1
            try emit(record.line)
        }
    }

    private func surveys(_ bundle: Bundle, conversationID: String, teamID: String?, emit: ([UInt8]) throws -> Void) throws {
        var responseByMessage: [Int64: CsatResponseRow] = [:]
        for response in bundle.responses {
            if let messageID = response.messageID { responseByMessage[messageID] = response }
        }
        var surveyMessages = Set<Int64>()
        for message in bundle.messages where message.contentType == 9 && !message.isPrivate {
            surveyMessages.insert(message.id)
            try emit(surveyRecord(surveyID: id("message", message.id) + ":csat", sentAt: message.createdAt,
                                  messageUpdatedAt: message.updatedAt,
                                  source: responseByMessage[message.id].map { "csat_survey_responses/\($0.id)" } ?? "messages/\(message.id)",
                                  response: responseByMessage[message.id], conversationID: conversationID, teamID: teamID))
        }
        // A response whose survey message is gone: sent when it was answered, at the latest.
        for response in bundle.responses where !(response.messageID.map(surveyMessages.contains) ?? false) {
            try emit(surveyRecord(surveyID: id("csat_survey_response", response.id) + ":csat", sentAt: response.createdAt,
                                  messageUpdatedAt: nil, source: "csat_survey_responses/\(response.id)",
                                  response: response, conversationID: conversationID, teamID: teamID))
        }
    }

    private func surveyRecord(surveyID: String, sentAt: String, messageUpdatedAt: String?, source: String, response: CsatResponseRow?,
                              conversationID: String, teamID: String?) -> [UInt8] {
        counters.surveys += 1
        var record = NDJSONRecord("csat")
        record.set("id", surveyID)
        record.set("conversation_id", conversationID)
        record.set("sent_at", sentAt)
        record.set("status", response == nil ? "SENT" : "COMPLETED")
        if let response {
            if let agent = response.agentID {
                record.set("agent_id", id("user", agent))
                record.set("team_id", teamID)
            }
            record.set("responded_at", response.createdAt)
            record.set("score", integer: response.rating)
            record.set("follow_up_answer", response.feedback)
        }
        record.set("updated_at", [messageUpdatedAt, response?.updatedAt].compactMap { $0 }.max())
        record.set("chatwoot_row", source)
        return record.line
    }
}

func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}
