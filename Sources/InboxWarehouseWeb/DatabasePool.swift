import Foundation
import InboxWarehouse
import NIOPosix
import PostgresLibPQ

/// A few libpq connections for the request handlers. libpq blocks, so every use runs on NIO's
/// blocking-work thread pool, never on an event loop. A connection that failed at the client
/// level (lost, closed) is dropped; one that raised a server error goes back to the pool.
final class DatabasePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [Connection] = []
    private let connect: @Sendable () throws -> Connection
    private let maximumIdle: Int
    private let threadPool: NIOThreadPool

    init(maximumIdle: Int = 4, threadPool: NIOThreadPool = .singleton, connect: @escaping @Sendable () throws -> Connection) {
        self.maximumIdle = maximumIdle
        self.threadPool = threadPool
        self.connect = connect
    }

    /// Runs `body` with a connection of the pool, on the blocking-work threads.
    func with<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await threadPool.runIfActive { [self] in
            let connection = try take()
            do {
                let value = try body(connection)
                give(connection)
                return value
            } catch let error as PostgresClientError {
                connection.close()
                throw error
            } catch {
                if connection.isInTransaction { _ = try? connection.execute("rollback") }
                give(connection)
                throw error
            }
        }
    }

    private func take() throws -> Connection {
        lock.lock()
        let connection = idle.popLast()
        lock.unlock()
        return try connection ?? connect()
    }

    private func give(_ connection: Connection) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < maximumIdle { idle.append(connection) } else { connection.close() }
    }

    /// Closes the idle connections.
    func close() {
        lock.lock()
        let connections = idle
        idle = []
        lock.unlock()
        for connection in connections { connection.close() }
    }
}
