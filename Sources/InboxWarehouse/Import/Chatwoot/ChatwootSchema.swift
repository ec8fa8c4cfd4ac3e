import PostgresLibPQ

/// What the source database has of Chatwoot's schema (`db/schema.rb`): the importer needs a core
/// of tables and columns, and reads some others only when they exist (newer or older Chatwoot
/// versions differ). A missing core column is a clear error naming it; a missing optional one
/// switches to the fallback written down in docs/sources/chatwoot.md.
struct ChatwootSchema {
    /// Columns per table, in the first schema of the search path.
    let columns: [String: Set<String>]
    let schemaName: String

    /// The tables and columns the import cannot do without.
    static let required: [(table: String, columns: [String])] = [
        ("accounts", ["id", "name"]),
        ("inboxes", ["id", "account_id", "name", "channel_type", "channel_id", "created_at", "updated_at"]),
        ("users", ["id", "name", "email", "updated_at"]),
        ("account_users", ["account_id", "user_id", "updated_at"]),
        ("agent_bots", ["id", "name", "updated_at"]),
        ("teams", ["id", "account_id", "name", "created_at", "updated_at"]),
        ("labels", ["title", "account_id", "updated_at"]),
        ("contacts", ["id", "account_id", "name", "email", "phone_number", "identifier", "custom_attributes",
                      "created_at", "updated_at"]),
        ("contact_inboxes", ["id", "contact_id", "inbox_id", "source_id"]),
        ("conversations", ["id", "account_id", "inbox_id", "contact_id", "display_id", "status", "team_id",
                           "additional_attributes", "created_at", "updated_at"]),
        ("messages", ["id", "account_id", "conversation_id", "message_type", "private", "content", "content_type",
                      "content_attributes", "sender_type", "sender_id", "created_at", "updated_at"]),
        ("reporting_events", ["id", "name", "account_id", "conversation_id", "user_id", "created_at", "updated_at"]),
        ("taggings", ["id", "tag_id", "taggable_type", "taggable_id", "context", "created_at"]),
        ("tags", ["id", "name"]),
        ("csat_survey_responses", ["id", "account_id", "conversation_id", "message_id", "rating", "feedback_message",
                                   "assigned_agent_id", "created_at", "updated_at"]),
    ]

    static func read(_ connection: Connection) throws -> ChatwootSchema {
        let schema = try connection.execute("select current_schema()").scalar ?? "public"
        let result = try connection.execute("""
            select table_name::text, column_name::text from information_schema.columns
            where table_schema = current_schema()
            """)
        var columns: [String: Set<String>] = [:]
        for row in 0..<result.rowCount {
            guard let table = result.value(row, 0), let column = result.value(row, 1) else { continue }
            columns[table, default: []].insert(column)
        }
        let found = ChatwootSchema(columns: columns, schemaName: schema)
        try found.checkRequired()
        return found
    }

    func has(_ table: String) -> Bool { columns[table] != nil }

    func has(_ table: String, _ column: String) -> Bool { columns[table]?.contains(column) ?? false }

    private func checkRequired() throws {
        if !has("conversations") || !has("messages") {
            throw WarehouseError.configuration(
                "the source database has no Chatwoot tables in schema \(schemaName) (no conversations or messages table); check --source-url and its search_path")
        }
        var missing: [String] = []
        for (table, needed) in Self.required {
            guard let present = columns[table] else {
                missing.append("table \(table)")
                continue
            }
            for column in needed where !present.contains(column) { missing.append("\(table).\(column)") }
        }
        if !missing.isEmpty {
            throw WarehouseError.configuration(
                "the source is not a Chatwoot schema this importer reads: missing \(missing.joined(separator: ", ")) "
                + "(docs/sources/chatwoot.md lists the columns it needs and the optional ones)")
        }
    }
}
