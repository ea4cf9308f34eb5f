// libFuzzer target: the JSON parser and request validation (`run json`), and the quick purchase
// reader against the general one. Compiled together with the JSON, crypto and core modules'
// sources by `run`, not by SwiftPM.
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
    // What the quick reader accepts, the general one must read the same.
    if let quick = Earn.quickRequest(from: bytes) {
        let general = try? JSONValue.object(from: bytes)
        guard let general, (try? general.requireOnly(Earn.requestFields)) != nil, (try? Earn.request(from: general)) == quick else {
            fatalError("the quick purchase reader accepted what the general one reads otherwise or refuses")
        }
    }
    return 0
}
