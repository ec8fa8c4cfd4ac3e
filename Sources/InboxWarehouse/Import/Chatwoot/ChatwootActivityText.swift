/// Reads Chatwoot's activity messages (message_type 2): the only place Chatwoot keeps who changed a
/// conversation's status to pending or snoozed, who resolved it, and which labels were removed
/// when. Their text is rendered in the locale of the request that caused them; this reads the
/// English texts of `config/locales/en.yml` (`conversations.activity.*`). An activity in another
/// language is not understood and is skipped: the import then falls back to reporting events and
/// taggings alone (docs/sources/chatwoot.md, "Activity messages").
enum ChatwootActivity: Equatable {
    /// `Conversation was marked resolved by <user>` (also Captain's `… due to inactivity` and
    /// `… (<reason>)` variants); `Automation System` as the user means an automation rule.
    case resolvedByUser(String)
    /// `Conversation was marked resolved by system due to … of inactivity` (auto-resolve).
    case autoResolved
    /// `Conversation was resolved by <contact>` (the contact ended it, e.g. in the web widget).
    case resolvedByContact
    /// `Conversation was reopened by <user>`, `Conversation was marked open by <user>`,
    /// `System reopened the conversation due to a new incoming message.`
    case reopened(user: String?)
    /// `Conversation was marked open by system due to an error with the agent bot.`
    case botErrorOpened
    /// `Conversation was marked as pending by <user>`, `Conversation was snoozed by <user>`.
    case pending(user: String)
    /// `<user> added <label>, <label>` / `<user> removed <label>, <label>`.
    case labels(user: String, isAdded: Bool, titles: [String])

    static let automationUser = "Automation System"

    static func parse(_ content: String?) -> ChatwootActivity? {
        guard let text = content?.trimmingWhitespace(), !text.isEmpty else { return nil }
        if text == "System reopened the conversation due to a new incoming message." { return .reopened(user: nil) }
        if text.hasPrefix("Conversation was marked open by system due to an error with the agent bot") { return .botErrorOpened }
        if text.hasPrefix("Conversation was marked resolved by system due to") { return .autoResolved }
        if let user = text.dropPrefix("Conversation was marked resolved by ") {
            return .resolvedByUser(stripReason(user))
        }
        if text.hasPrefix("Conversation was resolved by ") { return .resolvedByContact }
        if let user = text.dropPrefix("Conversation was reopened by ") { return .reopened(user: user) }
        if text.hasPrefix("Conversation was marked open automatically") { return .reopened(user: nil) }
        if let user = text.dropPrefix("Conversation was marked open by ") { return .reopened(user: stripReason(user)) }
        if let user = text.dropPrefix("Conversation was marked as pending by ") { return .pending(user: user) }
        if let user = text.dropPrefix("Conversation was snoozed by ") { return .pending(user: user) }
        // Labels: the user's name, the verb, then titles joined by ", " (titles hold no spaces or
        // commas: Chatwoot allows letters, digits, "-" and "_"). Other activities with the same
        // verbs ("… added SLA policy Gold", "… removed the priority") have spaces after the verb.
        for (verb, isAdded) in [(" added ", true), (" removed ", false)] {
            guard let range = text.range(of: verb, options: .backwards) else { continue }
            let user = String(text[..<range.lowerBound])
            let list = String(text[range.upperBound...])
            let titles = list.components(separatedBy: ", ")
            if !user.isEmpty, !titles.isEmpty,
               titles.allSatisfy({ !$0.isEmpty && !$0.contains(" ") && !$0.contains(",") }) {
                return .labels(user: user, isAdded: isAdded, titles: titles)
            }
        }
        return nil
    }

    /// `Alice (customer asked)` or `Alice: done` or `Alice due to inactivity` → `Alice`.
    private static func stripReason(_ user: String) -> String {
        var name = user
        if let range = name.range(of: " due to inactivity") { name = String(name[..<range.lowerBound]) }
        if let range = name.range(of: " (") { name = String(name[..<range.lowerBound]) }
        if let range = name.range(of: ": ") { name = String(name[..<range.lowerBound]) }
        return name
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }

    func dropPrefix(_ prefix: String) -> String? {
        guard hasPrefix(prefix) else { return nil }
        let rest = String(dropFirst(prefix.count))
        return rest.isEmpty ? nil : rest
    }
}
