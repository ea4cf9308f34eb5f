import Foundation
import PointMeshJSON
import Testing
@testable import PointMeshCore

/// A purchase read straight from its bytes (`Earn.quickRequest`) must be what the general reader
/// makes of the same body, and it must decline whatever that reader refuses.
@Suite struct PlainPurchaseReaderTests {
    /// The general reader alone, as `PreparedWrite.parse` ran it before the quick one.
    private func general(_ body: [UInt8]) throws -> Earn.Request {
        let object = try JSONValue.object(from: body)
        try object.requireOnly(Earn.requestFields)
        return try Earn.request(from: object)
    }

    private struct Generator {
        var random: SplitMix64
        let alphabet = Array("abcXYZ019.-_:".utf8)
        /// Bodies laid out as tills write them: no whitespace, each line's members in order
        /// (the reader's fast path for lines).
        var tills = false

        mutating func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }

        mutating func space() -> String { tills ? "" : ["", "", " ", "\n  ", "\t", "\r\n"][pick(6)] }

        mutating func id() -> String {
            let length = [1, 3, 8, 12, 128][pick(5)]
            return String(decoding: (0..<length).map { _ in alphabet[pick(alphabet.count)] }, as: UTF8.self)
        }

        mutating func amount() -> Int64 { [1, 9, 100, 600, 12_345, 99_999_999, 1_000_000_000_000][pick(7)] }

        /// A body of the plain shape, its members in any order, with whitespace anywhere.
        mutating func plainBody() -> (body: String, request: Earn.Request) {
            let items = (0..<[0, 1, 3, 20][pick(4)]).map { _ in
                PurchaseItem(sku: SKU(unchecked: id()), category: CategoryID(unchecked: id()), amount: Fen([1, 5, 600, 9_999][pick(4)]))
            }
            let amount = Fen(max(amount(), items.reduce(0) { $0 + $1.amount.value }))
            let request = Earn.Request(receipt: ReceiptID(unchecked: id()), account: AccountID(unchecked: id()), amount: amount, items: items)
            func member(_ name: String, _ value: String) -> String { "\(space())\"\(name)\"\(space()):\(space())\(value)\(space())" }
            var members = [member("receipt_id", "\"\(request.receipt)\""), member("account_id", "\"\(request.account)\""),
                           member("amount_fen", "\(amount.value)")]
            if !items.isEmpty || pick(2) == 0 {
                let lines = items.map { item in
                    var fields = [member("sku", "\"\(item.sku)\""), member("category", "\"\(item.category)\""), member("amount_fen", "\(item.amount.value)")]
                    if !tills { fields.shuffle(using: &random) }
                    return "\(space()){\(fields.joined(separator: ","))}\(space())"
                }
                members.append(member("items", "[\(space())\(lines.joined(separator: ","))]"))
            }
            members.shuffle(using: &random)
            return ("\(space()){\(members.joined(separator: ","))}\(space())", request)
        }

        /// The body changed in one place: a byte dropped, doubled or replaced by one that
        /// matters to JSON, or a member added, repeated or escaped.
        mutating func mutant(of body: String) -> String {
            var bytes = Array(body.utf8)
            let at = pick(bytes.count)
            let telling = Array("\"{}[],:0-.eE+\\ anu1".utf8)
            switch pick(8) {
            case 0: bytes.remove(at: at)
            case 1: bytes.insert(bytes[at], at: at)
            case 2, 3: bytes[at] = telling[pick(telling.count)]
            case 4: return body.replacingFirst("\"amount_fen\"", with: "\"amount_fen\":1,\"amount_fen\"")
            case 5: return body.replacingFirst("{", with: "{\"budget_override\":{\"reason\":\"launch\"},")
            case 6: return body.replacingFirst("\"receipt_id\":", with: "\"receipt\\u005fid\":")
            default: return body.replacingFirst("\"sku\"", with: "\"sku\":null,\"x\"")
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    @Test func itReadsPlainBodiesAsTheGeneralReaderDoes() throws {
        var generator = Generator(random: SplitMix64(seed: 21))
        for round in 0..<3_000 {
            generator.tills = round % 2 == 0
            let (body, expected) = generator.plainBody()
            let quick = Earn.quickRequest(from: Array(body.utf8))
            #expect(quick == expected, "declined or misread: \(body)")
            #expect(try general(Array(body.utf8)) == expected)
            // Lines taken straight from the body's bytes make the forms the items make.
            guard let quick else { continue }
            #expect(quick.items == expected.items)
            #expect(quick.derived.canonical == expected.derived.canonical)
            #expect(quick.derived.sums.map { "\($0.category?.rawValue ?? "-")=\($0.fen)" } == expected.derived.sums.map { "\($0.category?.rawValue ?? "-")=\($0.fen)" })
        }
    }

    @Test func itDeclinesWhatItCannotReadExactly() {
        var generator = Generator(random: SplitMix64(seed: 22))
        var accepted = 0, declined = 0
        for round in 0..<6_000 {
            generator.tills = round % 2 == 0
            let body = generator.mutant(of: generator.plainBody().body)
            guard let quick = Earn.quickRequest(from: Array(body.utf8)) else {
                declined += 1
                continue
            }
            accepted += 1
            #expect((try? general(Array(body.utf8))) == quick, "the quick reader accepted what the general one reads otherwise or refuses: \(body)")
        }
        #expect(accepted > 100 && declined > 100, "the mutants exercise both ways: \(accepted) accepted, \(declined) declined")
    }

    @Test func edgesTheGeneralReaderRefusesAreDeclined() {
        let refused = [
            #"{"receipt_id":"R","account_id":"a","amount_fen":0}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":01}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":1000000000001}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":1.0}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":1e3}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":-5}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":"5"}"#,
            #"{"receipt_id":"","account_id":"a","amount_fen":5}"#,
            #"{"receipt_id":"R R","account_id":"a","amount_fen":5}"#,
            #"{"receipt_id":"R","receipt_id":"S","account_id":"a","amount_fen":5}"#,
            #"{"receipt_id":"R","account_id":"a"}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"s","category":"c","amount_fen":6}]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"s","amount_fen":5}]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"s","category":"c","amount_fen":5},]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5} x"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5"#,
            #"{"receipt_id":"R","account_id":"\#(String(repeating: "a", count: 129))","amount_fen":5}"#,
            // Lines as tills lay them out, each wrong in one place.
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"s","category":"c","amount_fen":05}]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"s","category":"c","amount_fen":0}]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"","category":"c","amount_fen":5}]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"s","category":"c d","amount_fen":5}]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"s","category":"c","amount_fen":5,"sku":"t"}]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"s","category":"c","amount_fen":5.0}]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"s","category":"c","amount_fen":5}{"sku":"t","category":"c","amount_fen":1}]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"\#(String(repeating: "s", count: 129))","category":"c","amount_fen":5}]}"#,
            #"{"receipt_id":"R","account_id":"a","amount_fen":5,"items":[{"sku":"s","category":"c","amount_fen":5"#,
        ]
        for body in refused {
            #expect(Earn.quickRequest(from: Array(body.utf8)) == nil, "accepted: \(body)")
            #expect((try? general(Array(body.utf8))) == nil, "the general reader accepts: \(body)")
        }
        let items = (0...Limits.maximumItems).map { _ in #"{"sku":"s","category":"c","amount_fen":1}"# }.joined(separator: ",")
        #expect(Earn.quickRequest(from: Array(#"{"receipt_id":"R","account_id":"a","amount_fen":5000,"items":[\#(items)]}"#.utf8)) == nil,
                "more lines than the limit")
    }
}

private extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
