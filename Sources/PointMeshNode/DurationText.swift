/// Durations as a person reads them in a message: "45 s", "12 min", "3 h 5 min", "2 days".
enum DurationText {
    static func describe(milliseconds: Int64) -> String {
        let seconds = max(0, milliseconds / 1000)
        switch seconds {
        case ..<120: return "\(seconds) s"
        case ..<7_200: return "\(seconds / 60) min"
        case ..<172_800: return "\(seconds / 3600) h \(seconds % 3600 / 60) min"
        default: return "\(seconds / 86_400) days"
        }
    }
}
