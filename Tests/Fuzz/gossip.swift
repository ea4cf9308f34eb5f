// libFuzzer target: the gossip frame decoder, message decoder and entry decoder (`run gossip`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGossip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var codec = FrameCodec(role: .responder)
    codec.append(bytes)
    for _ in 0..<64 {
        guard let message = try? codec.next() else { break }
        _ = message.payload()
    }
    if let type = bytes.first { _ = try? GossipMessage.decode(type: type, payload: Array(bytes.dropFirst())) }
    if let entry = try? EntryCoding.decode(bytes) {
        _ = EntryCoding.encode(entry)
        _ = try? LotEvents.of(entry, accounts: entry.customerAccounts)
    }
    return 0
}
