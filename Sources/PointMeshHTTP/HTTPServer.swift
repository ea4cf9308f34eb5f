import CLinuxEvents
import Dispatch
import Foundation
import PointMeshThreads
import PointMeshTLS
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What an `HTTPServer` listens on and how it bounds its clients.
public struct HTTPServerConfiguration: Sendable {
    public var address: HostPort
    public var limits = ParserLimits()
    public var timeouts = ConnectionTimeouts()
    /// Connections served at once. Beyond it a new connection takes the place of the one idle
    /// longest; when none is idle it is answered 503 and closed.
    public var maximumConnections = 512
    /// The clock deadlines are read on: milliseconds that never jump. The node passes its own
    /// clock's; by default the system's.
    public var monotonicMilliseconds: @Sendable () -> Int64 = { Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000) }
    /// Serve HTTPS with this context (`TLSContext.httpsServer`); nil: plain HTTP.
    public var tls: TLSContext?

    public init(address: HostPort) {
        self.address = address
    }
}

/// An HTTP/1.1 server on POSIX sockets and one epoll event loop. The loop accepts, reads,
/// parses, writes and enforces deadlines for every connection without a thread per connection;
/// each parsed request goes to `handler`, which answers through its responder, from any thread
/// and at any later time (a write answers once its group commit is on disk). Requests on one
/// connection are answered in order, one at a time (pipelining). Knows nothing of what it serves.
public final class HTTPServer: Sendable {
    /// Delivers a request's response; callable from any thread, once.
    public typealias Responder = @Sendable (HTTPResponse) -> Void
    public typealias Handler = @Sendable (HTTPRequest, @escaping Responder) -> Void

    public let configuration: HTTPServerConfiguration
    private let listener: TCPListener
    private let handler: Handler
    private let log: @Sendable (String) -> Void
    private let epoll: Int32
    /// Written to wake the loop when a response or a stop request is waiting.
    private let wakeFD: Int32
    /// Answers waiting for the loop, and whether the wake descriptor is still open. Late answers
    /// (a commit completing after the loop ended) must never write to a closed descriptor whose
    /// number may by then belong to another file, so writing to it and closing it share this lock.
    private let mailbox = Mutex<(answers: [(connection: UInt64, response: HTTPResponse)], wakeOpen: Bool)>(([], true))
    private let stopFlag = Atomic<Bool>(false)
    private let active = Atomic<Int>(0)
    private let loopDone = DispatchSemaphore(value: 0)
    private let grace = Atomic<Int64>(10_000)
    /// Connections refused because the server was full, for `/metrics`.
    public let refusedConnections = Atomic<Int>(0)
    /// The HTTPS context new connections get (`configuration.tls` until replaced); nil: HTTP.
    private let tls: Mutex<TLSContext?>

    /// How often the loop looks at deadlines when nothing else happens.
    static let tickMilliseconds: Int32 = 100

    public init(configuration: HTTPServerConfiguration, log: @escaping @Sendable (String) -> Void, handler: @escaping Handler) throws {
        self.configuration = configuration
        self.listener = try TCPListener(binding: configuration.address)
        self.handler = handler
        self.log = log
        tls = Mutex(configuration.tls)
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard epoll >= 0, wakeFD >= 0 else { throw SystemError(operation: "epoll_create1/eventfd", errno: errno) }
        _ = fcntl(listener.fd, F_SETFL, fcntl(listener.fd, F_GETFL) | O_NONBLOCK)
        try watch(listener.fd, events: EPOLLIN.rawValue)
        try watch(wakeFD, events: EPOLLIN.rawValue)
    }

    /// The address actually bound (the real port when 0 was asked for).
    public var address: HostPort { listener.address }

    public var activeConnections: Int { active.load(ordering: .relaxed) }

    /// Connections accepted from now on are served with `context` (a renewed certificate);
    /// open ones keep the session they have. Only for a server started with HTTPS.
    public func replaceTLS(_ context: TLSContext) {
        tls.withLock { current in if current != nil { current = context } }
    }

    fileprivate var currentTLS: TLSContext? { tls.withLock { $0 } }

    public func start() {
        NamedThread.start("pm-http-loop") { [self] in
            var loop = EventLoop(server: self)
            loop.run()
            Syscall.close(epoll)
            mailbox.withLock { mailbox in
                mailbox.wakeOpen = false
                mailbox.answers = []
                Syscall.close(wakeFD)
            }
            loopDone.signal()
        }
    }

    /// Stops accepting, lets in-flight requests finish (up to `graceMilliseconds`), closes every
    /// connection and returns.
    public func stop(graceMilliseconds: Int64 = 10_000) {
        grace.store(graceMilliseconds, ordering: .relaxed)
        if stopFlag.exchange(true, ordering: .acquiringAndReleasing) { return }
        wake()
        loopDone.wait()
    }

    fileprivate var stopping: Bool { stopFlag.load(ordering: .relaxed) }

    fileprivate func watch(_ fd: Int32, events: UInt32, modify: Bool = false) throws(SystemError) {
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        guard epoll_ctl(epoll, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event) == 0 else {
            throw SystemError(operation: "epoll_ctl", errno: errno)
        }
    }

    fileprivate func wake() {
        mailbox.withLock { mailbox in
            guard mailbox.wakeOpen else { return }
            signalWake()
        }
    }

    /// Only with the mailbox lock held and the descriptor open.
    private func signalWake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Queues a response for the loop to write; called from any thread. After the loop has
    /// ended the response is dropped (its connection is gone).
    fileprivate func deliver(_ response: HTTPResponse, to connection: UInt64) {
        mailbox.withLock { mailbox in
            guard mailbox.wakeOpen else { return }
            mailbox.answers.append((connection, response))
            if mailbox.answers.count == 1 { signalWake() }
        }
    }

    // Accessors the loop needs.
    fileprivate var listenerFD: Int32 { listener.fd }
    fileprivate var epollFD: Int32 { epoll }
    fileprivate var wakeDescriptor: Int32 { wakeFD }
    fileprivate var graceMilliseconds: Int64 { grace.load(ordering: .relaxed) }
    fileprivate func takeMail() -> [(connection: UInt64, response: HTTPResponse)] {
        mailbox.withLock { mailbox in
            defer { mailbox.answers.removeAll(keepingCapacity: true) }
            return mailbox.answers
        }
    }
    fileprivate func dispatch(_ request: HTTPRequest, connection: UInt64) {
        handler(request) { [self] response in deliver(response, to: connection) }
    }
    fileprivate func countConnection(_ delta: Int) { active.add(delta, ordering: .relaxed) }
    fileprivate func closeListener() { listener.close() }
    fileprivate func note(_ message: String) { log(message) }
}

/// One connection as the loop sees it.
private final class LoopConnection {
    let fd: Int32
    let id: UInt64
    var parser: RequestParser
    var deadline: ReadDeadline
    var state = ConnectionState()
    /// The answer being sent, and how much of it is.
    var output: [UInt8] = []
    var written = 0
    /// Output is watched: the socket took only part of the answer.
    var wantsWritable = false
    /// Input is not being watched: enough is buffered and the connection can't take it yet.
    var readPaused = false
    /// The TLS session on an HTTPS port.
    let tls: TLSStream?
    /// A TLS read (the handshake's reply) waits for the socket to take output.
    var readWaitsForWritable = false

    init(fd: Int32, id: UInt64, tls: TLSStream?, limits: ParserLimits, timeouts: ConnectionTimeouts, now: Int64) {
        self.fd = fd
        self.id = id
        self.tls = tls
        parser = RequestParser(limits: limits)
        deadline = ReadDeadline(timeouts: timeouts, now: now)
    }

    /// Waiting for a request, with nothing of one buffered and nothing owed.
    var idle: Bool { state.acceptsRequest && !parser.hasPartialRequest }
}

/// The loop's state; lives on the loop thread only.
private struct EventLoop {
    let server: HTTPServer
    var connections: [Int32: LoopConnection] = [:]
    var byID: [UInt64: Int32] = [:]
    var nextID: UInt64 = 1
    var scratch = [UInt8](repeating: 0, count: 65_536)
    var stopDeadline: Int64?

    init(server: HTTPServer) { self.server = server }

    private func monotonicMilliseconds() -> Int64 { server.configuration.monotonicMilliseconds() }

    mutating func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var lastSweep = monotonicMilliseconds()
        while true {
            let count = epoll_wait(server.epollFD, &events, Int32(events.count), HTTPServer.tickMilliseconds)
            if count < 0 && errno != EINTR {
                server.note("epoll_wait failed: \(SystemError(operation: "epoll_wait", errno: errno))")
            }
            for index in 0..<max(0, Int(count)) {
                let fd = events[index].data.fd
                let flags = events[index].events
                if fd == server.listenerFD {
                    acceptAll()
                } else if fd == server.wakeDescriptor {
                    var value: UInt64 = 0
                    _ = read(server.wakeDescriptor, &value, 8)
                } else if let connection = connections[fd] {
                    if flags & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { readAvailable(connection) }
                    if flags & EPOLLOUT.rawValue != 0, connections[fd] != nil {
                        if connection.readWaitsForWritable {
                            connection.readWaitsForWritable = false
                            readAvailable(connection)
                        }
                        if connections[fd] != nil { flush(connection) }
                    }
                }
            }
            deliverMail()
            let now = monotonicMilliseconds()
            if now - lastSweep >= Int64(HTTPServer.tickMilliseconds) {
                lastSweep = now
                sweepDeadlines(now: now)
            }
            if server.stopping && shutDownStep(now: now) { return }
        }
    }

    // MARK: Accepting

    mutating func acceptAll() {
        while true {
            let fd = accept(server.listenerFD, nil, nil)
            if fd < 0 { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            // At the limit, the connection idle longest (waiting for a request, with nothing
            // owed to it) makes room: a flood of connections that send nothing can't lock a
            // till out. Only when every connection is busy is the new one refused.
            if connections.count >= server.configuration.maximumConnections, !server.stopping,
               let oldest = connections.values.filter(\.idle).min(by: { $0.deadline.deadline < $1.deadline.deadline }) {
                close(oldest)
            }
            guard connections.count < server.configuration.maximumConnections, !server.stopping else {
                server.refusedConnections.add(1, ordering: .relaxed)
                // On an HTTPS port the client waits for a handshake, not for words: it only sees the close.
                if server.currentTLS == nil {
                    let busy = HTTPResponse.error(503, code: "overloaded", message: "too many connections; retry shortly").serialized(keepAlive: false)
                    _ = busy.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                Syscall.close(fd)
                continue
            }
            var tls: TLSStream?
            if let context = server.currentTLS {
                guard let stream = try? TLSStream(context: context, fd: fd) else {
                    Syscall.close(fd)
                    continue
                }
                tls = stream
            }
            do {
                try server.watch(fd, events: EPOLLIN.rawValue)
            } catch {
                Syscall.close(fd)
                continue
            }
            let connection = LoopConnection(fd: fd, id: nextID, tls: tls, limits: server.configuration.limits,
                                            timeouts: server.configuration.timeouts, now: monotonicMilliseconds())
            nextID += 1
            connections[fd] = connection
            byID[connection.id] = fd
            server.countConnection(1)
        }
    }

    // MARK: Reading and dispatching

    /// Most bytes buffered for a connection that can't take its next request yet: one whole
    /// request at the limits. Past it the loop stops reading from that socket (TCP then pushes
    /// back on the client) until the connection catches up.
    var inputLimit: Int { server.configuration.limits.maximumHeadBytes + server.configuration.limits.maximumBodyBytes }

    mutating func readAvailable(_ connection: LoopConnection) {
        reading: while connection.parser.bufferedBytes < inputLimit || !connection.state.isBusy {
            switch receive(connection) {
            case .bytes(let count):
                connection.parser.append(Array(scratch[0..<count]))
                connection.deadline.bytesArrived(now: monotonicMilliseconds())
                // A short read emptied the socket; TLS is read until it says so (its records
                // come out one at a time, and what it holds raises no socket event).
                if count < scratch.count, connection.tls == nil { break reading }
            case .wouldBlock:
                break reading
            case .wantsWritable:
                connection.readWaitsForWritable = true
                connection.wantsWritable = true
                try? server.watch(connection.fd, events: (connection.readPaused ? 0 : EPOLLIN.rawValue) | EPOLLOUT.rawValue, modify: true)
                break reading
            case .plainOnTLSPort:
                let refusal = HTTPResponse.error(400, code: "https_required", message: "this port speaks HTTPS: use https://").serialized(keepAlive: false)
                _ = refusal.withUnsafeBytes { send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                return close(connection)
            case .closed:
                // The peer closed (or its TLS failed). An answer still owed is dropped with the connection.
                return close(connection)
            }
        }
        advance(connection)
        updateInterest(connection)
    }

    enum Received {
        case bytes(Int)
        case wouldBlock
        /// TLS must write before it can read on (a handshake reply the socket did not take).
        case wantsWritable
        /// Plain bytes on an HTTPS port.
        case plainOnTLSPort
        case closed
    }

    /// Reads what the socket (through TLS on an HTTPS port) has into `scratch`.
    mutating func receive(_ connection: LoopConnection) -> Received {
        if let tls = connection.tls {
            switch scratch.withUnsafeMutableBytes({ tls.read(into: $0) }) {
            case .transferred(let count): return .bytes(count)
            case .wantsRead: return .wouldBlock
            case .wantsWrite: return .wantsWritable
            case .plainRequest: return .plainOnTLSPort
            case .closed, .failed: return .closed
            }
        }
        while true {
            let count = scratch.withUnsafeMutableBytes { read(connection.fd, $0.baseAddress, $0.count) }
            if count > 0 { return .bytes(count) }
            if count == 0 { return .closed }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .closed
        }
    }

    /// Watches input only while the connection can use it, and output only while it has some.
    mutating func updateInterest(_ connection: LoopConnection) {
        guard connections[connection.fd] != nil else { return }
        let pause = connection.state.isBusy && connection.parser.bufferedBytes >= inputLimit
        guard pause != connection.readPaused else { return }
        connection.readPaused = pause
        let events = (pause ? 0 : EPOLLIN.rawValue) | (connection.wantsWritable ? EPOLLOUT.rawValue : 0)
        try? server.watch(connection.fd, events: events, modify: true)
        // What TLS already decrypted raises no socket event: read it now.
        if !pause, connection.tls?.hasBufferedInput == true { readAvailable(connection) }
    }

    /// Hands the next buffered request to the handler if none is being answered and the last
    /// answer has been sent: a client that pipelines requests but never reads gets no more
    /// work done for it, so its unsent output stays bounded by one response.
    mutating func advance(_ connection: LoopConnection) {
        guard connection.state.acceptsRequest else { return }
        switch connection.parser.next() {
        case .request(let request):
            guard connection.state.requestDispatched(keepAlive: request.keepAlive) else { return }
            server.dispatch(request, connection: connection.id)
        case .failure(let error):
            connection.state.refusalQueued()
            queue(HTTPResponse.error(error.status, code: error.code, message: error.message), on: connection, keepAlive: false)
        case .needMoreBytes:
            break
        }
    }

    mutating func deliverMail() {
        for (id, response) in server.takeMail() {
            guard let fd = byID[id], let connection = connections[fd], case .awaitingResponse = connection.state.phase else { continue }
            let keepAlive = connection.state.responseReady(serverStopping: server.stopping)
            queue(response.rendered, on: connection, keepAlive: keepAlive)
            guard connections[fd] != nil else { continue }
            connection.deadline.requestAnswered(now: monotonicMilliseconds(), pipelined: connection.parser.hasPartialRequest)
            advance(connection)
            updateInterest(connection)
        }
    }

    // MARK: Writing

    mutating func queue(_ response: HTTPResponse, on connection: LoopConnection, keepAlive: Bool) {
        if connection.written == connection.output.count {
            connection.output.removeAll(keepingCapacity: true)
            connection.written = 0
        }
        connection.output.append(contentsOf: response.serialized(keepAlive: keepAlive))
        flush(connection)
    }

    mutating func flush(_ connection: LoopConnection) {
        while connection.written < connection.output.count {
            let sent = transmit(connection)
            if sent > 0 {
                connection.written += sent
            } else if sent < 0 && errno == EINTR {
                continue
            } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if !connection.wantsWritable {
                    connection.wantsWritable = true
                    try? server.watch(connection.fd, events: (connection.readPaused ? 0 : EPOLLIN.rawValue) | EPOLLOUT.rawValue, modify: true)
                }
                return
            } else {
                return close(connection)
            }
        }
        let closing = connection.state.answerWritten()
        // A TLS handshake reply still waiting for the socket keeps it watched.
        if connection.wantsWritable, !connection.readWaitsForWritable {
            connection.wantsWritable = false
            try? server.watch(connection.fd, events: connection.readPaused ? 0 : EPOLLIN.rawValue, modify: true)
            if !closing {
                advance(connection)
                updateInterest(connection)
            }
        }
        if closing { close(connection) }
    }

    /// Sends what the socket takes of the unsent output (through TLS on an HTTPS port): the
    /// bytes taken, or -1 with `errno` saying why none were (EAGAIN: try when writable).
    func transmit(_ connection: LoopConnection) -> Int {
        connection.output.withUnsafeBytes { bytes in
            let unsent = UnsafeRawBufferPointer(rebasing: bytes[connection.written...])
            guard let tls = connection.tls else { return send(connection.fd, unsent.baseAddress, unsent.count, Int32(MSG_NOSIGNAL)) }
            switch tls.write(unsent) {
            case .transferred(let count): return count
            case .wantsRead, .wantsWrite: errno = EAGAIN
            case .closed, .failed, .plainRequest: errno = EPIPE
            }
            return -1
        }
    }

    mutating func close(_ connection: LoopConnection) {
        guard connections.removeValue(forKey: connection.fd) != nil else { return }
        connection.state.closed()
        byID[connection.id] = nil
        epoll_ctl(server.epollFD, EPOLL_CTL_DEL, connection.fd, nil)
        Syscall.close(connection.fd)
        server.countConnection(-1)
    }

    // MARK: Time

    mutating func sweepDeadlines(now: Int64) {
        for connection in Array(connections.values) where connection.state.acceptsRequest {
            switch connection.deadline.expiry(now: now) {
            case .requestIncomplete:
                connection.state.refusalQueued()
                queue(HTTPResponse.error(408, code: "request_timeout", message: "the request did not arrive in time"), on: connection, keepAlive: false)
            case .idle:
                close(connection)
            case nil:
                break
            }
        }
    }

    /// One step of a stop: no new connections, idle ones closed, the rest given the grace
    /// period to be answered. True once everything is closed.
    mutating func shutDownStep(now: Int64) -> Bool {
        if stopDeadline == nil {
            stopDeadline = now + server.graceMilliseconds
            epoll_ctl(server.epollFD, EPOLL_CTL_DEL, server.listenerFD, nil)
            server.closeListener()
        }
        for connection in Array(connections.values) where connection.idle || now >= (stopDeadline ?? now) {
            close(connection)
        }
        return connections.isEmpty
    }
}
