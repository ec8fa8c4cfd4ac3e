import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

@Suite("Embedded cluster")
struct EmbeddedClusterTests {
    @Test("the embedded cluster is created on first use, reused, stopped, and restarted with its data")
    func lifecycle() throws {
        let home = URL(fileURLWithPath: "/tmp/iw-cluster-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let cluster = EmbeddedCluster(home: home)
        defer { _ = try? cluster.stop() }
        #expect(try cluster.state() == .notCreated)

        #expect(try cluster.ensureRunning() == true)
        #expect(try cluster.state() == .running)
        #expect(try cluster.ensureRunning() == false, "a running cluster is reused, not started again")

        let target = DatabaseTarget.embedded(cluster)
        let connection = try target.connect()
        #expect(connection.parameter("dbname") == EmbeddedCluster.databaseName)
        #expect(connection.parameter("host") == home.path, "the socket lives in the home")
        // No TCP: the server listens on no address.
        #expect(try connection.execute("show listen_addresses").scalar == "")
        try connection.execute("create table kept (n int)")
        try connection.execute("insert into kept values (42)")
        connection.close()

        #expect(try cluster.stop() == true)
        #expect(try cluster.state() == .stopped)
        #expect(try cluster.stop() == false)
        #expect(throws: PostgresClientError.self) { try Connection(conninfo: cluster.url) }

        let again = try target.connect()
        #expect(try again.execute("select n from kept").scalar == "42")
        again.close()
    }

    @Test("the URL is one libpq and psql accept, and passwords are redacted for display")
    func urls() throws {
        let cluster = EmbeddedCluster(home: URL(fileURLWithPath: "/tmp/a dir/home"))
        #expect(cluster.url == "postgresql://inbox_warehouse@/inbox_warehouse?host=/tmp/a%20dir/home&port=5432")
        #expect(redactPassword("postgresql://bob:s3cret@db.example:5432/x?sslmode=require")
                == "postgresql://bob:****@db.example:5432/x?sslmode=require")
        #expect(redactPassword("host=db user=bob password='s e c' dbname=x") == "host=db user=bob password=**** dbname=x")
        #expect(redactPassword("postgresql://bob@db/x") == "postgresql://bob@db/x")
    }

    @Test("an unreachable server is a clear error, not a hang")
    func unreachableServer() throws {
        let started = Date()
        #expect {
            try PostgresConnectionFactory.connect("postgresql://nobody@/db?host=/nonexistent-socket-dir&port=1")
        } throws: { error in
            guard case PostgresClientError.connectionFailed(let message) = error else { return false }
            return message.contains("/nonexistent-socket-dir")
        }
        #expect(Date().timeIntervalSince(started) < 10)
    }
}
