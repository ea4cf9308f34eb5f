import Foundation

/// Starts OS threads with a name the OS shows (`top -H`, /proc/PID/task/*/comm; 15 characters
/// at most), by which `pointmesh-bench` reads a thread's CPU time.
///
/// Foundation passes a `Thread`'s name on to the OS only when it is set after `start()`, from
/// the starting thread, through the new thread's pthread handle; a thread that has already
/// ended (a gossip session that failed to connect) has freed that handle, and naming it
/// crashed the node (SIGSEGV). Setting it from inside the thread races with Foundation's own
/// bookkeeping of the handle and is sometimes lost. So the new thread waits until it is named.
public enum NamedThread {
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let named = DispatchSemaphore(value: 0)
        let thread = Thread {
            named.wait()
            body()
        }
        thread.start()
        thread.name = name
        named.signal()
    }
}
