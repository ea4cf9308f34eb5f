import Foundation
import PointMeshHTTP

/// Two network namespaces the test makes, a store's network each, and a link between them that
/// the test can cut and heal (the stores' gossip crosses it). The test reaches each store's HTTP
/// through a `NamespaceRelay`, cut or not, as its own tills would. Needs root and iproute2;
/// `make` answers nil elsewhere, and the suites that use it fall back. Everything it made goes
/// with `remove` (deleting a namespace deletes the link).
final class LinkedNamespaces {
    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "ip"

    /// Each store's namespace.
    let names: [String]
    /// Each store's address on the link between them (its gossip address).
    let storeHosts: [String]
    /// The link's end in the first namespace: cutting sets it down.
    private let linkEnd: String

    /// Made in every suite process at most once per subnet: a process-wide counter keeps two
    /// pairs of one run apart, the PID two runs.
    private static let counter = NSLock()
    nonisolated(unsafe) private static var made = 0

    private init(subnet: Int) {
        let tag = "\(getpid() % 10_000)-\(subnet)"
        names = ["pmt-\(tag)-a", "pmt-\(tag)-b"]
        storeHosts = ["10.200.\(subnet).1", "10.200.\(subnet).2"]
        linkEnd = "pmx\(subnet)a"
    }

    /// A fresh pair, or nil when this machine can't make namespaces (not root, no iproute2).
    static func make() -> LinkedNamespaces? {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: ip) else { return nil }
        let subnet = counter.withLock {
            made += 1
            return Int((getpid() &+ Int32(made * 37)) % 250) + 1
        }
        let pair = LinkedNamespaces(subnet: subnet)
        let (a, b) = (pair.names[0], pair.names[1])
        let steps: [[String]] = [
            ["netns", "add", a], ["netns", "add", b],
            ["-n", a, "link", "set", "lo", "up"], ["-n", b, "link", "set", "lo", "up"],
            // The stores' link.
            ["link", "add", "pmx\(subnet)a", "type", "veth", "peer", "name", "pmx\(subnet)b"],
            ["link", "set", "pmx\(subnet)a", "netns", a], ["link", "set", "pmx\(subnet)b", "netns", b],
            ["-n", a, "addr", "add", "10.200.\(subnet).1/24", "dev", "pmx\(subnet)a"], ["-n", a, "link", "set", "pmx\(subnet)a", "up"],
            ["-n", b, "addr", "add", "10.200.\(subnet).2/24", "dev", "pmx\(subnet)b"], ["-n", b, "link", "set", "pmx\(subnet)b", "up"],
        ]
        for step in steps where !run(step) {
            pair.remove()
            return nil
        }
        return pair
    }

    /// Cuts the stores' link: neither reaches the other; each still serves its tills.
    func cut() { Self.run(["-n", names[0], "link", "set", linkEnd, "down"]) }

    func heal() { Self.run(["-n", names[0], "link", "set", linkEnd, "up"]) }

    /// Deletes both namespaces and the link between them.
    func remove() {
        for name in names { Self.run(["netns", "del", name]) }
    }

    /// Whether a pair can be made here: tried once per process.
    static let available: Bool = {
        guard let pair = make() else { return false }
        pair.remove()
        return true
    }()

    @discardableResult
    private static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

/// A node's HTTP port inside a namespace, reachable from the test's own namespace: the node
/// serves HTTP on its namespace's loopback (a node refuses to serve it beyond loopback without
/// tokens, and tokens beyond loopback without TLS), and this relays each connection to it from a
/// port on the test's loopback. A connection's relay thread enters the namespace (`setns`, which
/// moves only that thread) before it connects, so the node sees a loopback client.
final class NamespaceRelay: @unchecked Sendable {
    private let listener: Int32
    let address: HostPort
    private let namespace: String
    private let target: UInt16
    private let stopped = NSLock()
    nonisolated(unsafe) private var isStopped = false

    /// `setns(2)`, which the Swift Glibc module does not declare (nor `CLONE_NEWNET`, 0x40000000, passed to it).
    private typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
    private static let setns: SetNamespace? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns").map { unsafeBitCast($0, to: SetNamespace.self) }

    init(namespace: String, port: UInt16) throws {
        self.namespace = namespace
        target = port
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw NodeProcessError.notReady("relay for \(namespace) could not listen")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        self.address = HostPort(host: "127.0.0.1", port: UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    func stop() {
        stopped.withLock { isStopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            if stopped.withLock({ isStopped }) { close(client); return }
            Thread { [self] in relay(client) }.start()
        }
    }

    /// Connects to the node from inside its namespace and copies bytes both ways until either side closes.
    private func relay(_ client: Int32) {
        defer { close(client) }
        let namespaceFD = open("/var/run/netns/\(namespace)", O_RDONLY)
        guard namespaceFD >= 0, let setns = Self.setns, setns(namespaceFD, 0x4000_0000) == 0 else { return }
        close(namespaceFD)
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(upstream) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = target.bigEndian
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { return }
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: upstream, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while poll(&fds, 2, 30_000) > 0 {
            for (index, entry) in fds.enumerated() where entry.revents != 0 {
                let from = entry.fd, to = index == 0 ? upstream : client
                let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
                guard count > 0 else { return }
                var sent = 0
                while sent < count {
                    let wrote = buffer.withUnsafeBytes { write(to, $0.baseAddress! + sent, count - sent) }
                    guard wrote > 0 else { return }
                    sent += wrote
                }
            }
        }
    }
}
