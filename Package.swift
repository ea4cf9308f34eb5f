// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "PointMesh",
    products: [
        .executable(name: "pointmesh", targets: ["pointmesh"]),
        .executable(name: "pointmesh-bench", targets: ["pointmesh-bench"]),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CLibSSL",
            pkgConfig: "libssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(name: "CLinuxEvents"),
        .target(name: "PointMeshJSON", swiftSettings: strict),
        .target(name: "PointMeshCrypto", dependencies: ["CLibCrypto"], swiftSettings: strict),
        .target(name: "PointMeshTLS", dependencies: ["CLibSSL", "PointMeshCrypto"], swiftSettings: strict),
        .target(name: "PointMeshCore", dependencies: ["PointMeshJSON", "PointMeshCrypto"], swiftSettings: strict),
        .target(name: "PointMeshReplication", dependencies: ["PointMeshCore", "PointMeshCrypto"], swiftSettings: strict),
        .target(name: "PointMeshSimulation", dependencies: ["PointMeshCore", "PointMeshCrypto", "PointMeshReplication"], swiftSettings: strict),
        .target(name: "PointMeshThreads", swiftSettings: strict),
        .target(name: "PointMeshStore", dependencies: ["PointMeshCore", "CSQLite", "PointMeshThreads"], swiftSettings: strict),
        .target(name: "PointMeshHTTP", dependencies: ["CLinuxEvents", "PointMeshThreads", "PointMeshTLS"], swiftSettings: strict),
        .target(
            name: "PointMeshNode",
            dependencies: ["PointMeshJSON", "PointMeshCrypto", "PointMeshCore", "PointMeshReplication", "PointMeshStore", "PointMeshHTTP", "PointMeshThreads",
                           "PointMeshTLS"],
            swiftSettings: strict
        ),
        .target(name: "PointMeshCommandLine", swiftSettings: strict),
        .executableTarget(
            name: "pointmesh",
            dependencies: ["PointMeshJSON", "PointMeshNode", "PointMeshReplication", "PointMeshCommandLine", "PointMeshTLS"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "pointmesh-bench",
            dependencies: ["PointMeshJSON", "PointMeshNode", "PointMeshSimulation", "PointMeshCommandLine", "PointMeshTLS"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PointMeshCoreTests",
            dependencies: ["PointMeshJSON", "PointMeshCrypto", "PointMeshCore", "PointMeshReplication", "PointMeshSimulation"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PointMeshSimulationTests",
            dependencies: ["PointMeshJSON", "PointMeshSimulation", "PointMeshReplication", "PointMeshStore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PointMeshStoreTests",
            dependencies: ["CSQLite", "PointMeshJSON", "PointMeshStore", "PointMeshSimulation"],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(name: "PointMeshTLSTests", dependencies: ["PointMeshTLS"], swiftSettings: strict),
        .testTarget(name: "PointMeshHTTPTests", dependencies: ["PointMeshHTTP", "PointMeshSimulation"], swiftSettings: strict),
        .testTarget(
            name: "PointMeshEndToEndTests",
            dependencies: ["PointMeshJSON", "PointMeshCrypto", "PointMeshCore", "PointMeshStore", "PointMeshHTTP", "PointMeshNode", "PointMeshReplication", "PointMeshTLS", "pointmesh",
                           "pointmesh-bench"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
