import PostgresLibPQ

/// Keeps the facts layer (schema `facts`, `sql/facts/`) current as the loader writes batches.
///
/// Within a batch's transaction, before each kind's upsert, `captureTouched` records which
/// conversations and messages the staged rows touch: the ids the rows carry and, for a record
/// that is re-delivered with another conversation (or message), the id it carried before. After
/// the upserts, `refreshTouched` recomputes the facts of exactly those conversations and messages
/// (`facts.refresh`), so the facts commit with the rows and the cost follows the batch's size.
///
/// Besides the per-conversation tables, the facts read two columns of other records: an agent's
/// kind (human replies) and a topic's name (topic cells). A staged agent whose kind differs from
/// the stored one (or that is new) touches the conversations it wrote in; a staged topic whose
/// name differs (or that is new) touches the conversations it is applied to.
///
/// A business_hours record (a schedule of a channel from valid_from on) touches the conversations
/// of its channel whose response reference lies between its valid_from and the channel's next
/// stored valid_from (those it governs) — only their facts.conversations row, the one fact that
/// reads a schedule (touched_schedule_conversations) — and drops the schedule's calendar
/// (facts.business_calendar), which the refresh builds again from the stored record. Both happen
/// after the upserts, in `refreshTouched`, once the facts' advisory lock is held
/// (facts.forget_business_calendars takes it, as facts.refresh does): the conversations read are
/// then those every other loader has committed, no other loader extends these calendars
/// meanwhile, and, the batch's rows being written, waiting for the lock cannot deadlock with
/// another loader's upserts.
final class FactMaintenance {
    private let connection: Connection
    private var isPrepared = false
    /// Whether the batch in progress staged business_hours records.
    private var schedulesStaged = false

    init(connection: Connection) {
        self.connection = connection
    }

    /// Creates the temporary key lists (emptied at every commit).
    func prepare() throws {
        guard !isPrepared else { return }
        try connection.execute("create temporary table if not exists touched_conversations (conversation_id text) on commit delete rows")
        try connection.execute("create temporary table if not exists touched_messages (message_id text) on commit delete rows")
        try connection.execute("create temporary table if not exists touched_schedule_conversations (conversation_id text) on commit delete rows")
        isPrepared = true
    }

    /// Records the keys the staged rows of `kind` touch; run after the COPY into the staging
    /// table and before the upsert (the stored rows still hold their previous ids).
    func captureTouched(_ kind: RecordKind) throws {
        if kind.table == "business_hours" { schedulesStaged = true }
        for statement in Self.captureStatements[kind.table] ?? [] {
            try connection.execute(statement)
        }
    }

    /// Recomputes the facts of the keys captured in this transaction.
    func refreshTouched() throws {
        if schedulesStaged {
            schedulesStaged = false
            for statement in Self.scheduleStatements { try connection.execute(statement) }
        }
        try connection.execute("""
            select facts.refresh(
                array(select distinct conversation_id from touched_conversations where conversation_id is not null),
                array(select distinct message_id from touched_messages where message_id is not null),
                array(select distinct conversation_id from touched_schedule_conversations where conversation_id is not null))
            """)
    }

    /// Refreshes the planner statistics of the inbox and fact tables that changed by at least
    /// `fraction` of their rows (and 1,000 rows) since they were last analyzed, or were never
    /// analyzed. Run between batches, outside their transactions: as a first load grows the
    /// tables from nothing, statistics that still describe nearly empty tables made the refresh
    /// plans read whole tables (or rescan a hash per row) for every batch.
    func analyzeGrownTables(fraction: Double) throws {
        let grown = try connection.execute("""
            select format('%I.%I', s.schemaname, s.relname)
            from pg_stat_user_tables as s
            inner join pg_class as c
                on c.oid = s.relid
            where s.schemaname in ('inbox', 'facts')
              and s.n_mod_since_analyze >= greatest(1000, $1::float8 * greatest(c.reltuples, 0))
            order by 1
            """, [String(fraction)])
        for row in 0..<grown.rowCount {
            if let table = grown.value(row, 0) { try connection.execute("analyze \(table)") }
        }
    }

    /// The staged rows' conversation ids, and the previous ones of stored rows whose conversation
    /// changed. The stored row is looked up by key for each staged row (a scalar subquery: one
    /// index probe each, where a join was planned as a scan of the whole table).
    /// Duplicates stay (`union all`): `refreshTouched` reads the list through `select distinct`,
    /// so removing them here was a second sort of every batch's ids.
    private static func conversationsOf(_ table: String, key: String) -> String {
        """
        insert into touched_conversations (conversation_id)
        select s.conversation_id from stage_\(table) as s
        union all
        select p.previous_conversation_id
        from (
            select s.conversation_id,
                   (select t.conversation_id from inbox.\(table) as t where t.\(key) = s.\(key)) as previous_conversation_id
            from stage_\(table) as s
        ) as p
        where p.previous_conversation_id <> p.conversation_id
        """
    }

    /// After the upserts of a batch with business_hours records (see the type's comment).
    static let scheduleStatements = [
        """
        select facts.forget_business_calendars(array_agg(s.channel_id), array_agg(s.valid_from))
        from (select distinct channel_id, valid_from from stage_business_hours) as s
        """,
        """
        insert into touched_schedule_conversations (conversation_id)
        select fc.conversation_id
        from (select distinct channel_id, valid_from from stage_business_hours) as s
        inner join facts.conversations as fc
            on fc.channel_id = s.channel_id
           and fc.response_reference_at >= s.valid_from
        where fc.response_reference_at < coalesce(
            (select min(b.valid_from) from inbox.business_hours as b
             where b.channel_id = s.channel_id and b.valid_from > s.valid_from), 'infinity')
        """,
    ]

    static let captureStatements: [String: [String]] = [
        "conversations": ["insert into touched_conversations (conversation_id) select conversation_id from stage_conversations"],
        "messages": [
            conversationsOf("messages", key: "message_id"),
            // message_tags keep the message's created_at
            """
            insert into touched_messages (message_id)
            select s.message_id from stage_messages as s
            where coalesce((select true from inbox.tag_applications as ta where ta.message_id = s.message_id limit 1), false)
            """,
        ],
        "status_changes": [conversationsOf("status_changes", key: "status_change_id")],
        "queue_entries": [conversationsOf("queue_entries", key: "queue_entry_id")],
        "locks": [conversationsOf("locks", key: "lock_id")],
        "topic_applications": [conversationsOf("topic_applications", key: "topic_application_id")],
        "csat_surveys": [conversationsOf("csat_surveys", key: "survey_id")],
        "tag_applications": [
            """
            insert into touched_messages (message_id)
            select s.message_id from stage_tag_applications as s
            union
            select p.previous_message_id
            from (
                select s.message_id,
                       (select t.message_id from inbox.tag_applications as t
                        where t.tag_application_id = s.tag_application_id) as previous_message_id
                from stage_tag_applications as s
            ) as p
            where p.previous_message_id <> p.message_id
            """,
        ],
        "agents": [
            """
            with changed as materialized (
                select distinct s.agent_id
                from stage_agents as s
                where not exists (select 1 from inbox.agents as a where a.agent_id = s.agent_id and a.kind = s.kind)
            )
            insert into touched_conversations (conversation_id)
            select distinct m.conversation_id
            from changed as c
            cross join lateral (
                -- through the (agent_id, created_at) index, one agent at a time: offset 0 keeps
                -- the planner from scanning every message of the warehouse for a hash join, as it
                -- did for a day that brought one agent the history did not have (0.33 s of a
                -- 0.7 s load into 2.1M messages)
                select m.conversation_id
                from inbox.messages as m
                where m.agent_id = c.agent_id
                  and m.agent_id is not null
                offset 0
            ) as m
            """,
        ],
        "topics": [
            """
            with changed as materialized (
                select distinct s.topic_id
                from stage_topics as s
                where not exists (select 1 from inbox.topics as t where t.topic_id = s.topic_id and t.name = s.name)
            )
            insert into touched_conversations (conversation_id)
            select distinct ta.conversation_id
            from changed as c
            inner join inbox.topic_applications as ta
                on ta.topic_id = c.topic_id
            """,
        ],
    ]
}
