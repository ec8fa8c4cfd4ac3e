import PostgresLibPQ

/// The facts layer as a whole: rebuild it from the loaded tables, or compare what the loader
/// kept with a recomputation (`inbox-warehouse db check-facts`).
public enum Facts {
    /// One kept row that differs from its recomputation.
    public struct Difference: Sendable, Equatable, CustomStringConvertible {
        /// The fact relation (`conversations`, `lock_sessions`, ...).
        public let relation: String
        /// The row's key (`conversation_id`, `lock_id`, `message_id tag_id`, ...).
        public let key: String
        /// `missing` (recomputed, not kept), `extra` (kept, not recomputed) or `different`.
        public let kind: String

        public var description: String { "facts.\(relation) \(key): \(kind)" }
    }

    /// Recomputes every fact from the loaded tables (`facts.rebuild()`) and refreshes the
    /// planner statistics of the fact tables.
    public static func rebuild(_ connection: Connection) throws {
        try connection.execute("select facts.rebuild()")
        try connection.execute("""
            analyze facts.conversations, facts.human_replies, facts.lock_sessions, facts.conversation_topics, facts.message_tags
            """)
    }

    /// Every kept fact row that differs from a recomputation (empty when the facts are current),
    /// in relation and key order.
    public static func differences(_ connection: Connection) throws -> [Difference] {
        let result = try connection.execute(
            "select relation, key, difference from facts.differences() order by relation, key collate \"C\"")
        return (0..<result.rowCount).map {
            Difference(relation: result.value($0, 0) ?? "", key: result.value($0, 1) ?? "", kind: result.value($0, 2) ?? "")
        }
    }
}
