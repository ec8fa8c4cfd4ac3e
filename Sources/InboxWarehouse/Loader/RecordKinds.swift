/// The record kinds of the input contract (../shared/spec/input-format.md): their fields, types,
/// keys and target tables. The loader validates every record against this table.

enum FieldType: Equatable {
    /// An opaque non-empty string of at most 200 characters.
    case identifier
    /// Any string.
    case text
    /// An RFC 3339 timestamp with an offset.
    case timestamp
    /// A closed enumeration: any other value rejects the record.
    case closedEnumeration([String])
    /// An open enumeration: any string is accepted as is.
    case openEnumeration
    /// A JSON boolean; absent means `defaultValue`.
    case boolean(defaultValue: Bool)
    /// An integer from 1 to 5: any JSON number whose exact decimal value is one (`5`, `5.0`, `5e0`).
    case score
    /// An IANA time zone name known to the server, matched ignoring ASCII case; stored in the
    /// server's spelling (business-hours.md).
    case timeZone
    /// A business_hours `weekly`: an array of shifts `{"day", "start", "end"}` (BusinessHours.swift).
    case shifts
    /// An array of local dates `YYYY-MM-DD` (business_hours `closed_dates`).
    case localDates
}

struct FieldSpec {
    /// The field's name in the log.
    let name: String
    /// The column it is stored in.
    let column: String
    let type: FieldType
    let isRequired: Bool
}

struct RecordKind {
    /// The `type` value in the log.
    let type: String
    /// The table in schema `inbox`.
    let table: String
    /// The key columns (the primary key).
    let keyColumns: [String]
    let fields: [FieldSpec]
    /// Field names, for telling known fields from extra ones.
    let fieldNames: Set<String>
    /// Whether the kind carries `updated_at` (the re-delivery rule compares it).
    var hasUpdatedAt: Bool { fieldNames.contains("updated_at") }
    /// Stored columns, in COPY order (fields, then `extra`).
    var columns: [String] { fields.map(\.column) + ["extra"] }

    init(_ type: String, table: String, key: [String], _ fields: [FieldSpec]) {
        self.type = type
        self.table = table
        self.keyColumns = key
        self.fields = fields
        self.fieldNames = Set(fields.map(\.name))
    }

    static let all: [RecordKind] = [
        RecordKind("channel", table: "channels", key: ["channel_id"], [
            required("id", .identifier, column: "channel_id"),
            required("medium", .openEnumeration),
            required("name", .text),
            optional("display_name", .text),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("agent", table: "agents", key: ["agent_id"], [
            required("id", .identifier, column: "agent_id"),
            required("name", .text),
            required("kind", .closedEnumeration(["HUMAN", "VIRTUAL"])),
            optional("email", .text),
            optional("reference", .text),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("team", table: "teams", key: ["team_id"], [
            required("id", .identifier, column: "team_id"),
            required("name", .text),
            required("created_at", .timestamp),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("contact", table: "contacts", key: ["contact_id"], [
            required("id", .identifier, column: "contact_id"),
            required("medium", .openEnumeration),
            required("created_at", .timestamp),
            optional("primary_identifier", .text),
            optional("secondary_identifier", .text),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("contact_attribute", table: "contact_attributes", key: ["contact_id", "attribute_id"], [
            required("contact_id", .identifier),
            required("attribute_id", .identifier),
            required("name", .text),
            required("attribute_type", .openEnumeration),
            optional("value", .text),
            optional("source", .openEnumeration),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("topic", table: "topics", key: ["topic_id"], [
            required("id", .identifier, column: "topic_id"),
            required("name", .text),
            optional("active", .boolean(defaultValue: true), column: "is_active"),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("tag", table: "tags", key: ["tag_id"], [
            required("id", .identifier, column: "tag_id"),
            required("name", .text),
            optional("active", .boolean(defaultValue: true), column: "is_active"),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("conversation", table: "conversations", key: ["conversation_id"], [
            required("id", .identifier, column: "conversation_id"),
            required("channel_id", .identifier),
            required("contact_id", .identifier),
            required("created_at", .timestamp),
            optional("url", .text),
            optional("language", .text),
            optional("sentiment", .openEnumeration),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("message", table: "messages", key: ["message_id"], [
            required("id", .identifier, column: "message_id"),
            required("conversation_id", .identifier),
            required("created_at", .timestamp),
            required("direction", .closedEnumeration(["INBOUND", "OUTBOUND"])),
            optional("message_type", .openEnumeration),
            optional("origin", .openEnumeration),
            optional("outbound_type", .openEnumeration),
            optional("agent_id", .identifier),
            optional("team_id", .identifier),
            optional("system_user_type", .openEnumeration),
            optional("content", .text),
            optional("post_url", .text),
            optional("sentiment", .openEnumeration),
            optional("updated_at", .timestamp),
            optional("deleted_at", .timestamp),
        ]),
        RecordKind("status_change", table: "status_changes", key: ["status_change_id"], [
            required("id", .identifier, column: "status_change_id"),
            required("conversation_id", .identifier),
            required("at", .timestamp, column: "changed_at"),
            required("status", .closedEnumeration(["NEW", "PENDING", "RESOLVED"])),
            optional("agent_id", .identifier),
            optional("team_id", .identifier),
            optional("resolved_by", .closedEnumeration(["AGENT", "VIRTUAL_AGENT", "BULK", "SYSTEM"])),
            optional("resolve_trigger", .closedEnumeration(["HUMAN_AGENT", "VIRTUAL_AGENT", "AUTOMATION", "AUTO_RESOLVE"])),
            optional("resolution_reason", .text),
            optional("resolution_comment", .text),
        ]),
        RecordKind("queue_entry", table: "queue_entries", key: ["queue_entry_id"], [
            required("id", .identifier, column: "queue_entry_id"),
            required("conversation_id", .identifier),
            required("at", .timestamp, column: "queued_at"),
            required("started_by", .openEnumeration),
            optional("handover_reason", .openEnumeration),
            optional("inbound_message_id", .identifier),
        ]),
        RecordKind("lock", table: "locks", key: ["lock_id"], [
            required("id", .identifier, column: "lock_id"),
            required("conversation_id", .identifier),
            required("agent_id", .identifier),
            required("started_at", .timestamp),
            optional("ended_at", .timestamp),
            optional("team_id", .identifier),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("topic_applied", table: "topic_applications", key: ["topic_application_id"], [
            required("id", .identifier, column: "topic_application_id"),
            required("conversation_id", .identifier),
            required("topic_id", .identifier),
            required("at", .timestamp, column: "applied_at"),
            optional("agent_id", .identifier),
            optional("team_id", .identifier),
            optional("removed_at", .timestamp),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("tag_applied", table: "tag_applications", key: ["tag_application_id"], [
            required("id", .identifier, column: "tag_application_id"),
            required("message_id", .identifier),
            required("tag_id", .identifier),
            required("at", .timestamp, column: "applied_at"),
            optional("agent_id", .identifier),
            optional("team_id", .identifier),
            optional("removed_at", .timestamp),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("csat", table: "csat_surveys", key: ["survey_id"], [
            required("id", .identifier, column: "survey_id"),
            required("conversation_id", .identifier),
            required("sent_at", .timestamp),
            required("status", .closedEnumeration(["SENT", "COMPLETED", "EXPIRED", "DECLINED"])),
            optional("agent_id", .identifier),
            optional("team_id", .identifier),
            optional("responded_at", .timestamp),
            optional("score", .score),
            optional("follow_up_question", .text),
            optional("follow_up_answer", .text),
            optional("updated_at", .timestamp),
        ]),
        RecordKind("presence", table: "presences", key: ["presence_id"], [
            required("id", .identifier, column: "presence_id"),
            required("agent_id", .identifier),
            required("presence", .closedEnumeration(["AVAILABLE", "AWAY"]), column: "presence_type"),
            required("started_at", .timestamp),
            optional("away_state", .text),
            optional("ended_at", .timestamp),
            optional("updated_at", .timestamp),
        ]),
        // business-hours.md: one schedule per channel and valid_from.
        RecordKind("business_hours", table: "business_hours", key: ["channel_id", "valid_from"], [
            required("channel_id", .identifier),
            required("time_zone", .timeZone),
            required("valid_from", .timestamp),
            required("weekly", .shifts),
            optional("closed_dates", .localDates),
            optional("updated_at", .timestamp),
        ]),
    ]

    static let byType: [String: Int] = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1.type, $0) })
}

private func required(_ name: String, _ type: FieldType, column: String? = nil) -> FieldSpec {
    FieldSpec(name: name, column: column ?? name, type: type, isRequired: true)
}

private func optional(_ name: String, _ type: FieldType, column: String? = nil) -> FieldSpec {
    FieldSpec(name: name, column: column ?? name, type: type, isRequired: false)
}
