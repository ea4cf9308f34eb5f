// libFuzzer target: the JSON parser and request validation (`run json`). Compiled together
// with PointMeshCore's sources by `run`, not by SwiftPM.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let object = try? JSONValue.object(from: bytes) {
        _ = try? PreparedWrite.parse(Earn.self, body: bytes)
        _ = try? PreparedWrite.parse(Compensation.self, body: bytes)
        _ = try? PreparedWrite.parse(ExpiryPolicyKind.self, body: bytes)
        _ = object.fields.count
    }
    if let value = try? JSONParser.parse(bytes) { _ = value.serialized }
    return 0
}
