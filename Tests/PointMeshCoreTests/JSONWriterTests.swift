import PointMeshJSON
import Testing

/// The one JSON writer: values (`serialized`, `pretty`) and answers written key by key.
@Suite struct JSONWriterTests {
    @Test func compactFormSortsKeysAndEscapesWhatRFC8259Requires() {
        let value = JSONValue.object([
            "b": .string("q\"\\\n\r\t\u{01}\u{1f}é/😀"), "a": .array([]), "c": .object([:]), "d": .null,
            "e": .bool(false), "f": .integer(-42), "g": .number(1.5), "h": .array([.integer(1), .object(["x": .bool(true)])]),
        ])
        #expect(value.serialized == #"{"a":[],"b":"q\"\\\n\r\t\u0001\u001fé/😀","c":{},"d":null,"e":false,"f":-42,"g":1.5,"h":[1,{"x":true}]}"#)
        #expect((try? JSONParser.parse(value.bytes())) == value)
    }

    @Test func prettyFormIndentsEachLevelAndLeavesEmptyContainersShut() {
        let value = JSONValue.object(["list": .array([.integer(1), .array([])]), "name": .string("n"), "nested": .object(["k": .object([:])])])
        #expect(value.pretty == """
            {
              "list": [
                1,
                []
              ],
              "name": "n",
              "nested": {
                "k": {}
              }
            }
            """)
    }

    @Test func anAnswerWrittenKeyByKeyReadsAsTheSameObject() {
        var writer = JSONWriter(capacity: 8)
        writer.beginObject()
        writer.key("account_id")
        writer.string("a\"b")
        writer.key("campaigns")
        writer.beginArray()
        for (id, points) in [("c1", Int64(5)), ("c2", Int64(-7))] {
            writer.beginObject()
            writer.key("campaign_id")
            Array(id.utf8).withUnsafeBytes { writer.string(utf8: $0) }
            writer.key("points")
            writer.integer(points)
            writer.endObject()
        }
        writer.endArray()
        writer.key("dynamic key")
        writer.bool(true)
        writer.key("n")
        writer.integer(Int64.min)
        writer.endObject()
        let written = writer.finished()
        let expected = JSONValue.object([
            "account_id": .string("a\"b"),
            "campaigns": .array([.object(["campaign_id": .string("c1"), "points": .integer(5)]), .object(["campaign_id": .string("c2"), "points": .integer(-7)])]),
            "dynamic key": .bool(true), "n": .integer(Int64.min),
        ])
        #expect(String(decoding: written, as: UTF8.self) == expected.serialized)
    }
}
