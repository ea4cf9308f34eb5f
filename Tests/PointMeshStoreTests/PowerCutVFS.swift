import CSQLite
import Foundation
import Synchronization

/// A SQLite VFS over the system's own that can cut the power to a directory: every byte written
/// there since its file was last synced is lost, as on a machine whose page cache dies with it,
/// and the directory takes no writes until `restore`. Files elsewhere pass straight through.
///
/// Registered as the process's default VFS on first use, so the node's own code opens its
/// files through it unchanged. A write to a watched file first saves the bytes it overwrites (an
/// undo record, dropped when the file syncs). `cut` refuses every later change; `restore`,
/// called once the connections are closed, writes the saved bytes back in reverse order, cuts
/// each file to its size at the last sync and deletes the shared-memory index (`-shm`, memory
/// rather than disk, which SQLite rebuilds from the WAL). Putting bytes back only after the
/// connections close matters: closing any descriptor of a file drops every POSIX lock this
/// process holds on it, SQLite's own.
enum PowerCutVFS {
    static let name = "pointmesh-power-cut"

    /// Starts keeping undo records for files under `directory`.
    static func watch(_ directory: String) {
        register
        state.withLock { $0.watched.insert(prefix(directory)) }
    }

    /// Cuts the power to `directory`: every later write, sync, truncation or deletion there
    /// fails, and what was not synced is lost at `restore`. Returns how many files hold bytes
    /// written since their last sync.
    @discardableResult
    static func cut(_ directory: String) -> Int {
        state.withLock { state in
            let prefix = prefix(directory)
            state.cut.insert(prefix)
            return state.unsynced.keys.filter { $0.hasPrefix(prefix) }.count
        }
    }

    /// Power back on, once the connections are closed: the unsynced bytes are gone, and
    /// `directory` passes straight through again.
    static func restore(_ directory: String) {
        state.withLock { state in
            let prefix = prefix(directory)
            for (path, record) in state.unsynced where path.hasPrefix(prefix) {
                let descriptor = open(path, O_RDWR)
                guard descriptor >= 0 else { continue }
                for undo in record.undo.reversed() {
                    _ = undo.bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(undo.offset)) }
                }
                _ = ftruncate(descriptor, off_t(record.syncedSize))
                close(descriptor)
                state.unsynced[path] = nil
            }
            if state.cut.contains(prefix) {
                for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where file.hasSuffix("-shm") {
                    unlink(prefix + file)
                }
            }
            state.cut.remove(prefix)
            state.watched.remove(prefix)
        }
    }

    private static func prefix(_ directory: String) -> String { directory.hasSuffix("/") ? directory : directory + "/" }

    /// The bytes a write overwrote, to put back.
    struct Undo {
        var offset: Int64
        var bytes: [UInt8]
    }

    /// A watched file written since its last sync.
    struct Unsynced {
        var syncedSize: Int64
        var undo: [Undo] = []
    }

    struct State {
        var watched: Set<String> = []
        var cut: Set<String> = []
        var unsynced: [String: Unsynced] = [:]

        func isWatched(_ path: String) -> Bool { watched.contains { path.hasPrefix($0) } }
        func isCut(_ path: String) -> Bool { cut.contains { path.hasPrefix($0) } }
    }

    static let state = Mutex(State())

    /// The system's VFS, which does the work.
    nonisolated(unsafe) static let system: UnsafeMutablePointer<sqlite3_vfs> = sqlite3_vfs_find(nil)

    private static let register: Void = {
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: system.pointee)
        vfs.pointee.zName = UnsafePointer(strdup(name))
        vfs.pointee.pNext = nil
        vfs.pointee.szOsFile = Int32(MemoryLayout<WrappedFile>.stride)
        vfs.pointee.xOpen = { _, name, file, flags, outFlags in
            guard let file else { return SQLITE_MISUSE }
            let wrapped = UnsafeMutableRawPointer(file).assumingMemoryBound(to: WrappedFile.self)
            let real = UnsafeMutableRawPointer.allocate(byteCount: Int(PowerCutVFS.system.pointee.szOsFile), alignment: 16)
                .assumingMemoryBound(to: sqlite3_file.self)
            let rc = PowerCutVFS.system.pointee.xOpen!(PowerCutVFS.system, name, real, flags, outFlags)
            guard rc == SQLITE_OK else {
                real.deallocate()
                wrapped.pointee.base.pMethods = nil
                return rc
            }
            let path = name.map { String(cString: $0) }
            let watched = path.map { path in PowerCutVFS.state.withLock { $0.isWatched(path) } } ?? false
            wrapped.initialize(to: WrappedFile(base: sqlite3_file(pMethods: PowerCutVFS.methods), real: real,
                                               path: watched ? path.map { UnsafePointer(strdup($0)) } : nil))
            return SQLITE_OK
        }
        vfs.pointee.xDelete = { _, name, syncDirectory in
            if let name {
                let path = String(cString: name)
                let refused = PowerCutVFS.state.withLock { state in
                    guard !state.isCut(path) else { return true }
                    state.unsynced[path] = nil
                    return false
                }
                if refused { return SQLITE_IOERR }
            }
            return PowerCutVFS.system.pointee.xDelete!(PowerCutVFS.system, name, syncDirectory)
        }
        sqlite3_vfs_register(vfs, 1)
    }()

    /// What SQLite allocates per open file (`szOsFile`): the methods, the system VFS's file,
    /// and the path when the file is watched.
    struct WrappedFile {
        var base: sqlite3_file
        var real: UnsafeMutablePointer<sqlite3_file>
        var path: UnsafePointer<CChar>?
    }

    nonisolated(unsafe) static let methods: UnsafeMutablePointer<sqlite3_io_methods> = {
        let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
        methods.initialize(to: sqlite3_io_methods())
        methods.pointee.iVersion = 3
        methods.pointee.xClose = { file in
            let wrapped = wrappedFile(file)
            let rc = wrapped.real.pointee.pMethods.map { $0.pointee.xClose!(wrapped.real) } ?? SQLITE_OK
            wrapped.real.deallocate()
            if let path = wrapped.path { free(UnsafeMutablePointer(mutating: path)) }
            return rc
        }
        methods.pointee.xRead = { file, buffer, amount, offset in let (f, m) = systemFile(file); return m.xRead(f, buffer, amount, offset) }
        methods.pointee.xWrite = { file, buffer, amount, offset in
            guardedChange(file, offset: offset, length: Int64(amount), refusal: SQLITE_IOERR) {
                let (f, m) = systemFile(file)
                return m.xWrite(f, buffer, amount, offset)
            }
        }
        methods.pointee.xTruncate = { file, size in
            guardedChange(file, offset: size, length: nil, refusal: SQLITE_IOERR) {
                let (f, m) = systemFile(file)
                return m.xTruncate(f, size)
            }
        }
        methods.pointee.xSync = { file, flags in
            let (f, m) = systemFile(file)
            guard let path = wrappedFile(file).path.map({ String(cString: $0) }) else { return m.xSync(f, flags) }
            return PowerCutVFS.state.withLock { state in
                guard !state.isCut(path) else { return SQLITE_IOERR }
                let rc = m.xSync(f, flags)
                if rc == SQLITE_OK { state.unsynced[path] = nil }
                return rc
            }
        }
        methods.pointee.xFileSize = { file, size in let (f, m) = systemFile(file); return m.xFileSize(f, size) }
        methods.pointee.xLock = { file, lock in let (f, m) = systemFile(file); return m.xLock(f, lock) }
        methods.pointee.xUnlock = { file, lock in let (f, m) = systemFile(file); return m.xUnlock(f, lock) }
        methods.pointee.xCheckReservedLock = { file, out in let (f, m) = systemFile(file); return m.xCheckReservedLock(f, out) }
        methods.pointee.xFileControl = { file, op, argument in let (f, m) = systemFile(file); return m.xFileControl(f, op, argument) }
        methods.pointee.xSectorSize = { file in let (f, m) = systemFile(file); return m.xSectorSize(f) }
        methods.pointee.xDeviceCharacteristics = { file in let (f, m) = systemFile(file); return m.xDeviceCharacteristics(f) }
        methods.pointee.xShmMap = { file, region, size, extend, out in let (f, m) = systemFile(file); return m.xShmMap(f, region, size, extend, out) }
        methods.pointee.xShmLock = { file, offset, count, flags in let (f, m) = systemFile(file); return m.xShmLock(f, offset, count, flags) }
        methods.pointee.xShmBarrier = { file in let (f, m) = systemFile(file); m.xShmBarrier(f) }
        methods.pointee.xShmUnmap = { file, delete in let (f, m) = systemFile(file); return m.xShmUnmap(f, delete) }
        methods.pointee.xFetch = { file, offset, amount, out in let (f, m) = systemFile(file); return m.xFetch(f, offset, amount, out) }
        methods.pointee.xUnfetch = { file, offset, page in let (f, m) = systemFile(file); return m.xUnfetch(f, offset, page) }
        return methods
    }()
}

private func wrappedFile(_ file: UnsafeMutablePointer<sqlite3_file>?) -> PowerCutVFS.WrappedFile {
    UnsafeMutableRawPointer(file!).assumingMemoryBound(to: PowerCutVFS.WrappedFile.self).pointee
}

/// The system VFS's file under a wrapped one, and its methods (every one present: the system
/// VFS's files are version 3).
private func systemFile(_ file: UnsafeMutablePointer<sqlite3_file>?) -> (UnsafeMutablePointer<sqlite3_file>, SystemMethods) {
    let real = wrappedFile(file).real
    return (real, SystemMethods(methods: real.pointee.pMethods.pointee))
}

/// A version-3 file's methods, unwrapped.
private struct SystemMethods {
    var methods: sqlite3_io_methods
    var xRead: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, UnsafeMutableRawPointer?, Int32, sqlite3_int64) -> Int32 { methods.xRead! }
    var xWrite: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, UnsafeRawPointer?, Int32, sqlite3_int64) -> Int32 { methods.xWrite! }
    var xTruncate: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, sqlite3_int64) -> Int32 { methods.xTruncate! }
    var xSync: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, Int32) -> Int32 { methods.xSync! }
    var xFileSize: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, UnsafeMutablePointer<sqlite3_int64>?) -> Int32 { methods.xFileSize! }
    var xLock: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, Int32) -> Int32 { methods.xLock! }
    var xUnlock: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, Int32) -> Int32 { methods.xUnlock! }
    var xCheckReservedLock: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, UnsafeMutablePointer<Int32>?) -> Int32 { methods.xCheckReservedLock! }
    var xFileControl: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, Int32, UnsafeMutableRawPointer?) -> Int32 { methods.xFileControl! }
    var xSectorSize: @convention(c) (UnsafeMutablePointer<sqlite3_file>?) -> Int32 { methods.xSectorSize! }
    var xDeviceCharacteristics: @convention(c) (UnsafeMutablePointer<sqlite3_file>?) -> Int32 { methods.xDeviceCharacteristics! }
    var xShmMap: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, Int32, Int32, Int32, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 { methods.xShmMap! }
    var xShmLock: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, Int32, Int32, Int32) -> Int32 { methods.xShmLock! }
    var xShmBarrier: @convention(c) (UnsafeMutablePointer<sqlite3_file>?) -> Void { methods.xShmBarrier! }
    var xShmUnmap: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, Int32) -> Int32 { methods.xShmUnmap! }
    var xFetch: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, sqlite3_int64, Int32, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 { methods.xFetch! }
    var xUnfetch: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, sqlite3_int64, UnsafeMutableRawPointer?) -> Int32 { methods.xUnfetch! }
}

/// Runs `change` on a watched file with the lock held, after saving the bytes it overwrites from
/// `offset` (to the file's end when `length` is nil); refuses once the power is cut.
private func guardedChange(_ file: UnsafeMutablePointer<sqlite3_file>?, offset: Int64, length: Int64?, refusal: Int32,
                           _ change: () -> Int32) -> Int32 {
    guard let path = wrappedFile(file).path.map({ String(cString: $0) }) else { return change() }
    return PowerCutVFS.state.withLock { state in
        guard !state.isCut(path) else { return refusal }
        let (real, methods) = systemFile(file)
        var size: Int64 = 0
        guard methods.xFileSize(real, &size) == SQLITE_OK else { return SQLITE_IOERR }
        var record = state.unsynced[path] ?? PowerCutVFS.Unsynced(syncedSize: size)
        let end = min(size, length.map { offset + $0 } ?? size)
        if end > offset {
            var bytes = [UInt8](repeating: 0, count: Int(end - offset))
            guard methods.xRead(real, &bytes, Int32(bytes.count), offset) == SQLITE_OK else { return SQLITE_IOERR }
            record.undo.append(PowerCutVFS.Undo(offset: offset, bytes: bytes))
        }
        state.unsynced[path] = record
        return change()
    }
}
