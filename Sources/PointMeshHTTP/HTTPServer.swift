import Dispatch
import Foundation
import Synchronization

/// What an `HTTPServer` listens on and how it bounds its clients.
public struct HTTPServerConfiguration: Sendable {
    public var address: HostPort
    public var limits = ParserLimits()
    public var timeouts = ConnectionTimeouts()
    /// Connections served at once; more are answered 503 and closed.
    public var maximumConnections = 512

    public init(address: HostPort) {
        self.address = address
    }
}

/// An HTTP/1.1 server on blocking POSIX sockets: one thread accepts, one thread serves each
/// connection (keep-alive, pipelining), every read bounded by a deadline. Knows nothing of what
/// it serves: requests go to `handler`.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    public let configuration: HTTPServerConfiguration
    private let listener: TCPListener
    private let handler: Handler
    private let log: @Sendable (String) -> Void
    private let active = Atomic<Int>(0)
    /// Read on every request and poll slice, so an atomic rather than a lock.
    private let stopFlag = Atomic<Bool>(false)
    private let acceptorDone = DispatchSemaphore(value: 0)
    /// Connections refused because the server was full, for `/metrics`.
    public let refusedConnections = Atomic<Int>(0)

    /// How often blocked waits look up to notice a stop.
    static let pollSliceMilliseconds: Int64 = 200

    public init(configuration: HTTPServerConfiguration, log: @escaping @Sendable (String) -> Void, handler: @escaping Handler) throws {
        self.configuration = configuration
        self.listener = try TCPListener(binding: configuration.address)
        self.handler = handler
        self.log = log
    }

    /// The address actually bound (the real port when 0 was asked for).
    public var address: HostPort { listener.address }

    public var activeConnections: Int { active.load(ordering: .relaxed) }

    public func start() {
        let thread = Thread { [self] in
            acceptLoop()
            acceptorDone.signal()
        }
        thread.name = "pointmesh-http-accept"
        thread.start()
    }

    /// Stops accepting, lets in-flight requests finish (up to `graceMilliseconds`), and returns.
    public func stop(graceMilliseconds: Int64 = 10_000) {
        if stopFlag.exchange(true, ordering: .acquiringAndReleasing) { return }
        acceptorDone.wait()
        listener.close()
        let giveUpAt = monotonicMilliseconds() + graceMilliseconds
        while activeConnections > 0 && monotonicMilliseconds() < giveUpAt {
            usleep(10_000)
        }
    }

    private var stopping: Bool { stopFlag.load(ordering: .relaxed) }

    private func acceptLoop() {
        while !stopping {
            let connection: TCPConnection?
            do {
                connection = try listener.accept(waitingAtMost: Int32(Self.pollSliceMilliseconds))
            } catch {
                log("http accept failed: \(error)")
                usleep(50_000)
                continue
            }
            guard let connection else { continue }
            // Only this thread admits, so a load then an add can't overshoot the limit.
            guard active.load(ordering: .relaxed) < configuration.maximumConnections else {
                refusedConnections.add(1, ordering: .relaxed)
                let busy = HTTPResponse.error(503, code: "overloaded", message: "too many connections; retry shortly")
                try? connection.write(busy.serialized(keepAlive: false))
                connection.close()
                continue
            }
            active.add(1, ordering: .relaxed)
            let thread = Thread { [self] in
                serve(connection)
                connection.close()
                active.subtract(1, ordering: .relaxed)
            }
            thread.name = "pointmesh-http-conn"
            thread.start()
        }
    }

    private func serve(_ connection: TCPConnection) {
        var parser = RequestParser(limits: configuration.limits)
        var deadline = ReadDeadline(timeouts: configuration.timeouts, now: monotonicMilliseconds())
        do {
            while true {
                switch parser.next() {
                case .request(let request):
                    let response = handler(request)
                    let keepAlive = request.keepAlive && !stopping
                    try connection.write(response.serialized(keepAlive: keepAlive))
                    if !keepAlive { return }
                    deadline.requestAnswered(now: monotonicMilliseconds(), pipelined: parser.hasPartialRequest)
                    continue
                case .failure(let error):
                    let response = HTTPResponse.error(error.status, code: error.code, message: error.message)
                    try connection.write(response.serialized(keepAlive: false))
                    return
                case .needMoreBytes:
                    break
                }
                let now = monotonicMilliseconds()
                if let expiry = deadline.expiry(now: now) {
                    if expiry == .requestIncomplete {
                        let response = HTTPResponse.error(408, code: "request_timeout", message: "the request did not arrive in time")
                        try connection.write(response.serialized(keepAlive: false))
                    }
                    return
                }
                if stopping && !parser.hasPartialRequest { return }
                let wait = min(deadline.deadline - now, Self.pollSliceMilliseconds)
                guard let bytes = try connection.read(waitingAtMost: Int32(max(wait, 1))) else { continue }
                if bytes.isEmpty { return }
                deadline.bytesArrived(now: monotonicMilliseconds())
                parser.append(bytes)
            }
        } catch {
            // A peer that resets or vanishes mid-response is routine; nothing to answer.
        }
    }
}

/// Milliseconds on a clock that never jumps, for deadlines.
func monotonicMilliseconds() -> Int64 {
    Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000)
}
