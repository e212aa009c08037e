// swift-tools-version:6.0
import PackageDescription

/// Settings shared by every Swift target: internal imports by default, explicit existentials (STYLE.md rule 2).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "sockpit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sockpit", targets: ["sockpit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-openapi-runtime", exact: "1.13.4"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .systemLibrary(name: "CLinux"),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "SocketKit",
            dependencies: [
                "CLinux",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Storage",
            dependencies: [
                "CSQLite",
                .product(name: "Logging", package: "swift-log"),
            ],
            // Migrations/ (symlinked as Sources/Storage/Migrations) compiled into the binary as byte
            // arrays: no resource bundle to ship, runs from any directory.
            resources: [.embedInCode("Migrations")],
            swiftSettings: swiftSettings,
            plugins: []
        ),
        .target(
            name: "SockpitCore",
            dependencies: [
                "SocketKit",
                "Storage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HTTPServer",
            dependencies: [
                "CMicroHTTPD",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The contract's types, generated from openapi.yaml by the pinned swift-openapi-generator and committed
        // (Sources/*/Generated; `make generate` writes them, `make test` checks they are current): a build never
        // compiles the generator.
        .target(
            name: "SockpitContract",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SockpitAPI",
            dependencies: [
                "SockpitContract",
                "SockpitCore",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The dashboard's page, scripts and style (Sources/SockpitAPI/Dashboard), compiled in as byte arrays.
            resources: [.embedInCode("Dashboard")],
            swiftSettings: swiftSettings
        ),
        // The generated client of the same contract, on Foundation's URLSession (StreamingTransport.swift says
        // why not a transport package): what the `sockpit` commands other than `serve` and `migrate` use.
        .target(
            name: "SockpitClient",
            dependencies: [
                "SockpitContract",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        // The wiring of SockpitAPI onto HTTPServer, shared by `sockpit serve` and the test harnesses.
        .target(
            name: "SockpitServer",
            dependencies: ["SockpitAPI", "SockpitCore", "HTTPServer", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sockpit",
            dependencies: [
                "SockpitServer",
                "SockpitAPI",
                "SockpitClient",
                "SockpitContract",
                "SockpitCore",
                "HTTPServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The parsers under libFuzzer (`make fuzz`): built with `--sanitize fuzzer -Xswiftc -DFUZZING`, libFuzzer
        // supplies `main`; otherwise it replays saved inputs. `-parse-as-library` lets the entry point be absent.
        .executableTarget(
            name: "SockpitFuzz",
            dependencies: ["SockpitCore"],
            swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]
        ),
        // Network namespaces on a bridge for tests (Tests/NamespaceRig): a library the test targets share.
        .target(name: "NamespaceRig", path: "Tests/NamespaceRig", swiftSettings: swiftSettings),
        .testTarget(
            name: "SocketKitTests",
            dependencies: ["SocketKit", "NamespaceRig", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "StorageTests", dependencies: ["Storage"], swiftSettings: swiftSettings),
        .testTarget(name: "SockpitCoreTests", dependencies: ["SockpitCore", "Storage", "SocketKit"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HTTPServerTests",
            dependencies: [
                "HTTPServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["SockpitServer", "SockpitAPI", "SockpitCore", "Storage", "HTTPServer", "SocketKit", "NamespaceRig",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SockpitAPITests",
            dependencies: ["SockpitServer", "SockpitAPI", "SockpitContract", "SockpitCore", "SocketKit", "Storage", "HTTPServer",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
    ]
)
