@testable import PointMeshHTTP
import Testing

@Suite struct ConnectionStateTests {
    @Test func aKeepAliveRequestGoesRoundToReadingAgain() {
        var state = ConnectionState()
        #expect(state.acceptsRequest && !state.isBusy)
        let dispatched = state.requestDispatched(keepAlive: true)
        #expect(dispatched && !state.acceptsRequest && state.isBusy)
        let second = state.requestDispatched(keepAlive: true)
        #expect(!second, "a second request waits for the first answer")
        let stays = state.responseReady(serverStopping: false)
        #expect(stays && state.phase == .writing(thenClose: false) && state.isBusy)
        let closes = state.answerWritten()
        #expect(!closes && state.phase == .reading)
    }

    @Test func closeAndStoppingEndTheConnectionAfterTheAnswer() {
        var close = ConnectionState()
        _ = close.requestDispatched(keepAlive: false)
        let stays = close.responseReady(serverStopping: false)
        let closes = close.answerWritten()
        #expect(!stays && closes && close.phase == .closed)
        var stopping = ConnectionState()
        _ = stopping.requestDispatched(keepAlive: true)
        let staysWhileStopping = stopping.responseReady(serverStopping: true)
        #expect(!staysWhileStopping, "a stopping server closes after the answer it owes")
        let closesWhileStopping = stopping.answerWritten()
        #expect(closesWhileStopping)
    }

    @Test func aRefusalClosesAndNothingIsOwedTwice() {
        var state = ConnectionState()
        state.refusalQueued()
        let owed = state.responseReady(serverStopping: false)
        #expect(!state.acceptsRequest && !owed, "no handler answer is owed")
        let closes = state.answerWritten(), again = state.answerWritten()
        #expect(closes && state.phase == .closed && !again)
        var reading = ConnectionState()
        let nothing = reading.answerWritten()
        #expect(!nothing && reading.phase == .reading, "nothing queued: nothing changes")
    }
}
