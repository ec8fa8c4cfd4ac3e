import Crypto
import Foundation
import InboxWarehouse
import PostgresLibPQ

/// What a person may do on the page: a viewer downloads; an administrator also creates
/// exports and schedules.
public enum WebRole: String, Sendable, CaseIterable {
    case admin, viewer
}

/// One account of `web.users`.
public struct WebUser: Sendable, Equatable {
    public let userID: Int64
    public let name: String
    public let role: WebRole
    public let createdAt: String
}

/// `inbox-warehouse users add|list|remove`: accounts in `web.users`, passwords hashed by
/// pgcrypto's bcrypt in the database (`web.hash_password`), never stored or logged in clear.
public struct UserStore {
    let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    /// Creates an account, or changes the role and password of an existing one. Returns
    /// whether it was created.
    @discardableResult
    public func add(name: String, role: WebRole, password: String) throws -> Bool {
        guard name.range(of: "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$", options: .regularExpression) != nil else {
            throw WarehouseError.invalidParameter("a user name is 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
        }
        guard password.count >= 8 else { throw WarehouseError.invalidParameter("the password must have at least 8 characters") }
        guard password.utf8.count <= 72 else {
            throw WarehouseError.invalidParameter("the password must have at most 72 bytes (bcrypt reads no further)")
        }
        let result = try connection.execute("""
            insert into web.users (name, role, password_hash) values ($1, $2, web.hash_password($3))
            on conflict (name) do update set role = excluded.role, password_hash = excluded.password_hash
            returning (xmax = 0)
            """, binds: [name, role.rawValue, password])
        if result.scalar != "t" {
            // A changed password or role ends the account's sessions.
            try connection.execute("delete from web.sessions where user_id = (select user_id from web.users where name = $1)", binds: [name])
        }
        return result.scalar == "t"
    }

    public func list() throws -> [WebUser] {
        let result = try connection.execute("""
            select user_id, name, role, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            from web.users order by name collate "C"
            """)
        return (0..<result.rowCount).map {
            WebUser(userID: Int64(result.value($0, 0) ?? "") ?? 0, name: result.value($0, 1) ?? "",
                    role: WebRole(rawValue: result.value($0, 2) ?? "") ?? .viewer, createdAt: result.value($0, 3) ?? "")
        }
    }

    /// Removes an account and its sessions; false when there is none of that name.
    @discardableResult
    public func remove(name: String) throws -> Bool {
        try connection.execute("delete from web.users where name = $1", binds: [name]).affectedRows > 0
    }

    /// The account when the password is right, else nil (a missing account costs a hash too, so
    /// the answer's timing does not tell whether the name exists).
    func verify(name: String, password: String) throws -> WebUser? {
        let result = try connection.execute("""
            select u.user_id, u.name, u.role, web.password_matches($2, u.password_hash)
            from web.users u where u.name = $1
            """, binds: [name, password])
        guard result.rowCount == 1 else {
            _ = try connection.execute("select web.password_matches($1, '$2a$10$0123456789012345678901uN8Dd3tFpHz2pM8dY6k8Jt4h4J0sHkq')", binds: [password])
            return nil
        }
        guard result.value(0, 3) == "t" else { return nil }
        return WebUser(userID: Int64(result.value(0, 0) ?? "") ?? 0, name: result.value(0, 1) ?? "",
                       role: WebRole(rawValue: result.value(0, 2) ?? "") ?? .viewer, createdAt: "")
    }

    func named(_ name: String) throws -> WebUser? {
        let result = try connection.execute("select user_id, name, role from web.users where name = $1", binds: [name])
        guard result.rowCount == 1 else { return nil }
        return WebUser(userID: Int64(result.value(0, 0) ?? "") ?? 0, name: result.value(0, 1) ?? "",
                       role: WebRole(rawValue: result.value(0, 2) ?? "") ?? .viewer, createdAt: "")
    }
}

/// A logged-in browser: who, and the CSRF token its forms carry.
struct WebSession: Sendable {
    let user: WebUser
    let csrfToken: String
}

/// Sessions in `web.sessions`, keyed by the SHA-256 of the cookie's random value.
struct SessionStore {
    let connection: Connection

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Opens a session; returns the cookie value.
    func open(_ user: WebUser, hours: Int) throws -> String {
        let token = Random.token()
        try connection.execute("delete from web.sessions where expires_at < now()")
        try connection.execute("""
            insert into web.sessions (session_hash, user_id, csrf_token, expires_at)
            values ($1, $2, $3, now() + make_interval(hours => $4::int))
            """, binds: [Self.hash(token), user.userID, Random.token(), hours])
        return token
    }

    func find(_ token: String) throws -> WebSession? {
        let result = try connection.execute("""
            select u.user_id, u.name, u.role, s.csrf_token
            from web.sessions s join web.users u on u.user_id = s.user_id
            where s.session_hash = $1 and s.expires_at > now()
            """, binds: [Self.hash(token)])
        guard result.rowCount == 1 else { return nil }
        let user = WebUser(userID: Int64(result.value(0, 0) ?? "") ?? 0, name: result.value(0, 1) ?? "",
                           role: WebRole(rawValue: result.value(0, 2) ?? "") ?? .viewer, createdAt: "")
        return WebSession(user: user, csrfToken: result.value(0, 3) ?? "")
    }

    func close(_ token: String) throws {
        try connection.execute("delete from web.sessions where session_hash = $1", binds: [Self.hash(token)])
    }
}

enum Random {
    /// 32 random bytes, base64url without padding.
    static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// Constant-time comparison of two tokens.
func tokensMatch(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count, !x.isEmpty else { return false }
    var difference: UInt8 = 0
    for index in x.indices { difference |= x[index] ^ y[index] }
    return difference == 0
}

/// Failed logins per user name and per client address in a sliding window; past the limit,
/// logins are refused (429) without looking at the password until the window has passed.
final class LoginRateLimiter: @unchecked Sendable {
    private let lock = NSLock()
    private var failures: [String: [Date]] = [:]
    let limit: Int
    let window: TimeInterval

    init(limit: Int, window: TimeInterval) {
        self.limit = limit
        self.window = window
    }

    private func keys(name: String, address: String?) -> [String] {
        ["user:" + name.lowercased()] + (address.map { ["address:" + $0] } ?? [])
    }

    /// Whether a login for this name from this address is refused now.
    func isLimited(name: String, address: String?, now: Date = Date()) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return keys(name: name, address: address).contains { key in
            let recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }
            failures[key] = recent
            // An address may fail for several names: four times the per-name limit.
            return recent.count >= (key.hasPrefix("address:") ? limit * 4 : limit)
        }
    }

    func recordFailure(name: String, address: String?, now: Date = Date()) {
        lock.lock()
        defer { lock.unlock() }
        for key in keys(name: name, address: address) { failures[key, default: []].append(now) }
    }

    func recordSuccess(name: String) {
        lock.lock()
        defer { lock.unlock() }
        failures["user:" + name.lowercased()] = nil
    }
}
