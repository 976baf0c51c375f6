/// How bad a finding is. Ordered: `info < low < medium < high < critical`.
public enum Severity: String, Codable, CaseIterable, Comparable, Sendable {
    case info, low, medium, high, critical

    /// Position in the order, `info` = 0.
    public var rank: Int {
        switch self {
        case .info: 0
        case .low: 1
        case .medium: 2
        case .high: 3
        case .critical: 4
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

    /// The `security-severity` SARIF property (GitHub code scanning reads it): the contract values.
    public var securitySeverity: String {
        switch self {
        case .critical: "9.5"
        case .high: "8.0"
        case .medium: "5.5"
        case .low: "3.0"
        case .info: "0.0"
        }
    }

    /// SARIF `level` for a failing result of this severity.
    public var sarifLevel: String {
        switch self {
        case .critical, .high: "error"
        case .medium: "warning"
        case .low, .info: "note"
        }
    }
}

/// The `--fail-on` threshold: a severity, or `never` (the gate never fails).
public enum GateThreshold: Codable, Equatable, Sendable, CustomStringConvertible {
    case severity(Severity)
    case never

    public init?(rawValue: String) {
        if rawValue == "never" { self = .never; return }
        guard let severity = Severity(rawValue: rawValue) else { return nil }
        self = .severity(severity)
    }

    public var description: String {
        switch self {
        case .never: "never"
        case .severity(let s): s.rawValue
        }
    }

    /// Whether a failing result of `severity` trips the gate.
    public func trips(_ severity: Severity) -> Bool {
        switch self {
        case .never: false
        case .severity(let threshold): severity >= threshold
        }
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let value = GateThreshold(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "'\(raw)' is not a gate threshold (critical, high, medium, low, info, never)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
