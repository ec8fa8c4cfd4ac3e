// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "inbox-warehouse",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "inbox-warehouse", targets: ["InboxWarehouseCLI"]),
        .library(name: "InboxWarehouse", targets: ["InboxWarehouse"]),
        .library(name: "PostgresLibPQ", targets: ["PostgresLibPQ"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // The C boundary: libpq's headers, found through pkg-config (Debian: libpq-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        // The only module that imports CLibPQ: connections, queries, COPY, errors.
        .target(
            name: "PostgresLibPQ",
            dependencies: ["CLibPQ"]
        ),
        // Loader, exporter, migrations, export catalog, embedded cluster. The sql/ folder is
        // compiled in (EmbedSQLPlugin), so the binary is a complete install.
        .target(
            name: "InboxWarehouse",
            dependencies: [
                "PostgresLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                "InboxWarehouseSQL",
            ]
        ),
        // The sql/ folder compiled in, so the binary is a complete install: EmbedSQLPlugin
        // generates a Swift file from sql/, which Sources/InboxWarehouseSQL/sql links to (so
        // SwiftPM watches it like any sources and plans again when a file comes or goes).
        .target(
            name: "InboxWarehouseSQL",
            exclude: ["sql"],
            plugins: ["EmbedSQLPlugin"]
        ),
        .plugin(
            name: "EmbedSQLPlugin",
            capability: .buildTool(),
            dependencies: ["EmbedSQL"]
        ),
        .executableTarget(name: "EmbedSQL"),
        // The web page (`serve`): routes, sessions, server-rendered HTML, SSE, downloads. A target
        // of its own so the core library does not pull in the web stack.
        .target(
            name: "InboxWarehouseWeb",
            dependencies: [
                "InboxWarehouse",
                "PostgresLibPQ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "InboxWarehouseCLI",
            dependencies: [
                "InboxWarehouse",
                "InboxWarehouseWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "InboxWarehouseTests",
            dependencies: [
                "InboxWarehouse",
                "PostgresLibPQ",
                "InboxWarehouseWeb",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ]
)
