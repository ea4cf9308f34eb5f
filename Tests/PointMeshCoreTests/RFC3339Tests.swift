import PointMeshCore
import Testing

@Suite struct RFC3339Tests {
    @Test func formatsUTCWithMilliseconds() {
        #expect(RFC3339.format(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(milliseconds: 1_700_000_000_123) == "2023-11-14T22:13:20.123Z")
        #expect(RFC3339.format(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
        #expect(RFC3339.format(milliseconds: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
    }

    @Test func parsesWhatItFormatsAndOffsets() {
        for milliseconds: Int64 in [0, 1_700_000_000_123, 951_782_400_000, 253_402_300_799_999] {
            #expect(RFC3339.parse(RFC3339.format(milliseconds: milliseconds)) == milliseconds)
        }
        #expect(RFC3339.parse("2026-03-01T08:00:00+08:00") == RFC3339.parse("2026-03-01T00:00:00Z"))
        #expect(RFC3339.parse("2026-03-01T00:00:00.5Z") == RFC3339.parse("2026-03-01T00:00:00Z").map { $0 + 500 })
        #expect(RFC3339.parse("2024-02-29T00:00:00Z") != nil)
        for bad in ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-03-01 00:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T00:00:00",
                    "2026-03-01T00:00:00.Z", "2026-03-01T00:00:00Zjunk", "tomorrow", ""] {
            #expect(RFC3339.parse(bad) == nil, "\(bad)")
        }
    }
}
