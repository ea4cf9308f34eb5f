// libFuzzer target: the HTTP request parser (`run http`). The input is fed in two pieces, split
// where its first byte says, so partial reads are exercised too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var parser = RequestParser()
    let split = bytes.isEmpty ? 0 : min(bytes.count, Int(bytes[0]))
    parser.append(Array(bytes[..<split]))
    _ = parser.next()
    parser.append(Array(bytes[split...]))
    for _ in 0..<16 {
        switch parser.next() {
        case .request(let request): _ = request.header("Content-Type")
        case .needMoreBytes, .failure: return 0
        }
    }
    return 0
}
