/// Where an HTTP connection is in its request–response cycle, with the transitions the event
/// loop makes (as swift-nio's `HTTPServerPipelineHandler.ConnectionState`). One request at a
/// time: the next is parsed only once the last answer is written, so a client that pipelines
/// but never reads gets no more work done for it. Pure: the loop owns sockets and buffers.
struct ConnectionState: Equatable {
    enum Phase: Equatable {
        /// Waiting for (the rest of) a request; nothing is owed or being sent.
        case reading
        /// A request is with the handler; `keepAlive` is what it asked for.
        case awaitingResponse(keepAlive: Bool)
        /// An answer is being sent; then `reading`, or `closed` when `thenClose`.
        case writing(thenClose: Bool)
        /// Closed: nothing more is read or written.
        case closed
    }

    private(set) var phase = Phase.reading

    /// Whether a request may be handed to the handler now.
    var acceptsRequest: Bool { phase == .reading }

    /// Whether the connection owes an answer or is sending one.
    var isBusy: Bool {
        switch phase {
        case .awaitingResponse, .writing: true
        case .reading, .closed: false
        }
    }

    /// A parsed request goes to the handler; false (and no change) unless `acceptsRequest`.
    mutating func requestDispatched(keepAlive: Bool) -> Bool {
        guard phase == .reading else { return false }
        phase = .awaitingResponse(keepAlive: keepAlive)
        return true
    }

    /// The handler answered; returns whether the connection stays open after this answer.
    mutating func responseReady(serverStopping: Bool) -> Bool {
        guard case .awaitingResponse(let keepAlive) = phase else { return false }
        let stays = keepAlive && !serverStopping
        phase = .writing(thenClose: !stays)
        return stays
    }

    /// The loop answers without the handler (a malformed request, a timeout): then closes.
    mutating func refusalQueued() {
        phase = .writing(thenClose: true)
    }

    /// The answer is fully written; returns whether to close now.
    mutating func answerWritten() -> Bool {
        guard case .writing(let thenClose) = phase else { return false }
        phase = thenClose ? .closed : .reading
        return thenClose
    }

    mutating func closed() { phase = .closed }
}
