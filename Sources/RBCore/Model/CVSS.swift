import Foundation

/// CVSS base scores from vector strings (the form OSV records carry), by the FIRST
/// specifications' formulas: v3.0/v3.1 (`CVSS:3.1/AV:N/AC:L/…`) and v2 (`AV:N/AC:L/Au:N/…`).
/// v4.0 vectors have no closed formula (the score comes from a table of macro vectors) and
/// give nil; callers fall back to the record's qualitative severity.
public enum CVSS {
    /// The base score of `vector`, or nil when it is not a complete v2/v3 base vector.
    public static func baseScore(_ vector: String) -> Double? {
        let trimmed = vector.trimmingWhitespace()
        if let number = Double(trimmed), number >= 0, number <= 10 { return number }
        var metrics: [String: String] = [:]
        for part in trimmed.split(separator: "/") {
            let pair = part.split(separator: ":", maxSplits: 1)
            guard pair.count == 2 else { return nil }
            metrics[String(pair[0])] = String(pair[1])
        }
        if let version = metrics["CVSS"] {
            return version.hasPrefix("3") ? v3(metrics) : nil
        }
        return v2(metrics)
    }

    static func v3(_ m: [String: String]) -> Double? {
        guard let av = ["N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2][m["AV"] ?? ""],
              let ac = ["L": 0.77, "H": 0.44][m["AC"] ?? ""],
              let scope = m["S"], scope == "U" || scope == "C",
              let ui = ["N": 0.85, "R": 0.62][m["UI"] ?? ""],
              let c = ["H": 0.56, "L": 0.22, "N": 0.0][m["C"] ?? ""],
              let i = ["H": 0.56, "L": 0.22, "N": 0.0][m["I"] ?? ""],
              let a = ["H": 0.56, "L": 0.22, "N": 0.0][m["A"] ?? ""] else { return nil }
        let changed = scope == "C"
        guard let pr = (changed ? ["N": 0.85, "L": 0.68, "H": 0.5] : ["N": 0.85, "L": 0.62, "H": 0.27])[m["PR"] ?? ""] else { return nil }
        let iss = 1 - (1 - c) * (1 - i) * (1 - a)
        let impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss
        guard impact > 0 else { return 0 }
        let exploitability = 8.22 * av * ac * pr * ui
        return roundUp(min(changed ? 1.08 * (impact + exploitability) : impact + exploitability, 10))
    }

    /// CVSS v3.1's Roundup: the smallest one-decimal number at or above `value`, immune to
    /// floating-point noise.
    static func roundUp(_ value: Double) -> Double {
        let scaled = Int((value * 100_000).rounded())
        return scaled % 10_000 == 0 ? Double(scaled) / 100_000 : (Double(scaled / 10_000) + 1) / 10
    }

    static func v2(_ m: [String: String]) -> Double? {
        guard let av = ["L": 0.395, "A": 0.646, "N": 1.0][m["AV"] ?? ""],
              let ac = ["H": 0.35, "M": 0.61, "L": 0.71][m["AC"] ?? ""],
              let au = ["M": 0.45, "S": 0.56, "N": 0.704][m["Au"] ?? ""],
              let c = ["N": 0.0, "P": 0.275, "C": 0.660][m["C"] ?? ""],
              let i = ["N": 0.0, "P": 0.275, "C": 0.660][m["I"] ?? ""],
              let a = ["N": 0.0, "P": 0.275, "C": 0.660][m["A"] ?? ""] else { return nil }
        let impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a))
        let exploitability = 20 * av * ac * au
        let score = (0.6 * impact + 0.4 * exploitability - 1.5) * (impact == 0 ? 0 : 1.176)
        return (score * 10).rounded() / 10
    }

    /// The lower bound of a qualitative rating (`CRITICAL` 9.0, `HIGH` 7.0, `MODERATE`/`MEDIUM`
    /// 4.0, `LOW` 0.1), for records that carry no vector.
    public static func score(rating: String) -> Double? {
        switch rating.lowercased() {
        case "critical": 9.0
        case "high", "important": 7.0
        case "moderate", "medium": 4.0
        case "low": 0.1
        default: nil
        }
    }
}
