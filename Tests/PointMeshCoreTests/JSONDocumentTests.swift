import PointMeshCore
import PointMeshJSON
import Testing

/// The parser reads a request into a flat document and its fields are looked up by bytes: the
/// rules must be those of a parse into values, key by key.
@Suite struct JSONDocumentTests {
    private func object(_ text: String) throws -> JSONObject { try JSONValue.object(from: Array(text.utf8)) }

    @Test func duplicateKeysAreRefusedHoweverTheyAreWritten() {
        for text in [#"{"a":1,"a":2}"#, #"{"a":1,"\u0061":2}"#, #"{"é":1,"\u00e9":2}"#] {
            #expect(throws: JSONParser.Failure.self, "\(text)") { try JSONParser.parse(Array(text.utf8)) }
        }
        // Past 32 keys the parser keeps them in a set: a repeat there is refused too.
        let many = (0..<40).map { #""k\#($0)":\#($0)"# }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(("{" + (many + [#""k3":0"#]).joined(separator: ",") + "}").utf8)) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(("{" + (many + [#""k39":0"#]).joined(separator: ",") + "}").utf8)) }
        let parsed = try? JSONParser.parse(Array(("{" + many.joined(separator: ",") + "}").utf8))
        guard case .object(let fields)? = parsed else {
            Issue.record("40 distinct keys did not parse")
            return
        }
        #expect(fields.count == 40 && fields["k39"] == .integer(39))
    }

    @Test func fieldsAreFoundByTheirDecodedName() throws {
        let body = try object(#"{"receipt_\u0069d":"R1","account_id":"caf\u00e9","amount_fen":100,"note":null}"#)
        #expect(try body.identifier(FieldSpec("receipt_id", .id, "")) as ReceiptID == ReceiptID(unchecked: "R1"))
        #expect(throws: RequestError.self) { try body.identifier(FieldSpec("account_id", .id, "")) as AccountID }
        #expect(try body.positiveInteger(FieldSpec("amount_fen", .positiveInteger(maximum: 1_000), "")) == 100)
        #expect(body.fields["note"] == .null)
        #expect(throws: RequestError.unknownField("note", expected: ["account_id", "amount_fen", "receipt_id"])) {
            try body.requireOnly(["receipt_id", "account_id", "amount_fen"].map { FieldSpec($0, .id, "") })
        }
    }

    @Test func nestedObjectsAndArraysNameTheirPathInErrors() throws {
        let reason = FieldSpec("reason", .boundedText(maximumLength: 10), "")
        let override = FieldSpec.optional("budget_override", .object([reason]), "")
        #expect(try object(#"{"budget_override":{"reason":"launch"}}"#).object(override)?.text(reason) == "launch")
        #expect(try object(#"{"budget_override":null}"#).object(override) == nil)
        #expect(throws: RequestError.invalidField("budget_override", "must be an object, not a string")) {
            try object(#"{"budget_override":"x"}"#).object(override)
        }
        #expect(throws: RequestError.unknownField("budget_override.why", expected: ["reason"])) {
            try object(#"{"budget_override":{"why":"x"}}"#).object(override)
        }
        let sku = FieldSpec("sku", .id, "")
        let items = FieldSpec.optional("items", .array(of: [sku], maximumCount: 2), "")
        #expect(try object(#"{"items":[{"sku":"a"},{"sku":"b"}]}"#).objects(items).map { try $0.identifier(sku) as SKU } == [SKU(unchecked: "a"), SKU(unchecked: "b")])
        #expect(throws: RequestError.invalidField("items[1]", "must be an object, not a number")) { try object(#"{"items":[{"sku":"a"},3]}"#).objects(items) }
        #expect(throws: RequestError.unknownField("items[0].skew", expected: ["sku"])) { try object(#"{"items":[{"skew":"a"}]}"#).objects(items) }
        #expect(throws: RequestError.invalidField("items", "at most 2 elements")) { try object(#"{"items":[{},{},{}]}"#).objects(items) }
        #expect(throws: RequestError.missingField("items[0].sku")) { try object(#"{"items":[{}]}"#).objects(items).first?.identifier(sku) as SKU? }
    }
}
