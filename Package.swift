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
        .systemLibrary(name: "CLinuxEvents"),
        .target(name: "PointMeshCore", dependencies: ["CLibCrypto"], swiftSettings: strict),
        .target(name: "PointMeshReplication", dependencies: ["PointMeshCore"], swiftSettings: strict),
        .target(name: "PointMeshSimulation", dependencies: ["PointMeshCore", "PointMeshReplication"], swiftSettings: strict),
        .target(name: "PointMeshStore", dependencies: ["PointMeshCore", "CSQLite"], swiftSettings: strict),
        .target(name: "PointMeshHTTP", dependencies: ["CLinuxEvents"], swiftSettings: strict),
        .target(
            name: "PointMeshNode",
            dependencies: ["PointMeshCore", "PointMeshReplication", "PointMeshStore", "PointMeshHTTP"],
            swiftSettings: strict
        ),
        .target(name: "PointMeshCommandLine", swiftSettings: strict),
        .executableTarget(name: "pointmesh", dependencies: ["PointMeshNode", "PointMeshReplication", "PointMeshCommandLine"], swiftSettings: strict),
        .executableTarget(
            name: "pointmesh-bench",
            dependencies: ["PointMeshNode", "PointMeshSimulation", "PointMeshCommandLine"],
            swiftSettings: strict
        ),
        .testTarget(name: "PointMeshCoreTests", dependencies: ["PointMeshCore", "PointMeshReplication"], swiftSettings: strict),
        .testTarget(name: "PointMeshSimulationTests", dependencies: ["PointMeshSimulation", "PointMeshReplication", "PointMeshStore"], swiftSettings: strict),
        .testTarget(name: "PointMeshStoreTests", dependencies: ["PointMeshStore", "PointMeshSimulation"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "PointMeshHTTPTests", dependencies: ["PointMeshHTTP", "PointMeshSimulation"], swiftSettings: strict),
        .testTarget(
            name: "PointMeshEndToEndTests",
            dependencies: ["PointMeshCore", "PointMeshStore", "PointMeshHTTP", "PointMeshNode", "pointmesh", "pointmesh-bench"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
