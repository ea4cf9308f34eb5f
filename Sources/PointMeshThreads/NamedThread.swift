import Foundation

/// Starts OS threads with a name the OS shows (`top -H`, /proc/PID/task/*/comm; 15 characters
/// at most), by which `pointmesh-bench` reads a thread's CPU time.
///
/// The thread names itself through the kernel (`/proc/thread-self/comm`) before it runs its
/// body, and `start` returns once it has, so the name is there as soon as the thread is (a
/// test reads it right after the node's ready line). Foundation's `Thread.name` reaches the OS only when set after `start()`, from the
/// starting thread, through the new thread's pthread handle: a thread that has already ended (a
/// gossip session that failed to connect) has freed that handle, and naming it crashed the node
/// (SIGSEGV); and, set so, the name was now and then lost (a full test run found the HTTP loop
/// unnamed).
public enum NamedThread {
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let named = DispatchSemaphore(value: 0)
        Thread {
            nameThisThread(name)
            named.signal()
            body()
        }.start()
        named.wait()
    }

    private static func nameThisThread(_ name: String) {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY)
        guard descriptor >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }
}
