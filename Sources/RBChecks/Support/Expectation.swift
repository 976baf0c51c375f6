import RBCore

/// A comparison a rule expects a value to satisfy: `{op: ge, value: 5}`.
///
/// Numbers compare as numbers when both sides parse as numbers (`0x10`, `1e3` too), otherwise
/// as strings. `matches` / `notMatches` take a regular expression (ICU syntax).
public struct Expectation: Decodable, Sendable, CustomStringConvertible {
    public enum Op: String, NamedValue, Sendable {
        case eq, ne, lt, le, gt, ge, `in`, notIn, matches, notMatches, between
    }

    public let op: Op
    public let values: [String]
    /// `ignoreCase: true` compares strings and patterns without case.
    public let ignoreCase: Bool
    private let regex: Regex?

    enum CodingKeys: String, CodingKey { case op, value, ignoreCase }

    /// An expectation built in code (no pattern operators: those are written in rules).
    init(_ op: Op, _ values: [String], ignoreCase: Bool = false) {
        precondition(op != .matches && op != .notMatches, "pattern expectations come from rule files")
        self.op = op
        self.values = values
        self.ignoreCase = ignoreCase
        self.regex = nil
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        op = try container.decode(Op.self, forKey: .op)
        ignoreCase = try container.decodeIfPresent(Bool.self, forKey: .ignoreCase) ?? false
        if let list = try? container.decode([String].self, forKey: .value) {
            values = list
        } else {
            values = [try container.decode(String.self, forKey: .value)]
        }
        switch op {
        case .in, .notIn:
            break
        case .between:
            guard values.count == 2, let low = Expectation.number(values[0]), let high = Expectation.number(values[1]), low <= high else {
                throw DecodingError.dataCorruptedError(forKey: .value, in: container,
                    debugDescription: "op 'between' takes [minimum, maximum] numbers")
            }
        default:
            guard values.count == 1 else {
                throw DecodingError.dataCorruptedError(forKey: .value, in: container,
                    debugDescription: "op '\(op.rawValue)' takes one value, not a list")
            }
        }
        if op == .matches || op == .notMatches {
            do {
                regex = try Regex(values[0], ignoreCase: ignoreCase)
            } catch {
                throw DecodingError.dataCorruptedError(forKey: .value, in: container, debugDescription: "\(error)")
            }
        } else {
            regex = nil
        }
    }

    /// Whether `actual` satisfies the expectation.
    public func isSatisfied(by actual: String) -> Bool {
        let a = actual.trimmingWhitespace()
        switch op {
        case .eq: return equal(String(a), values[0])
        case .ne: return !equal(String(a), values[0])
        case .in: return values.contains { equal(String(a), $0) }
        case .notIn: return !values.contains { equal(String(a), $0) }
        case .between:
            guard let x = Expectation.number(String(a)), let low = Expectation.number(values[0]),
                  let high = Expectation.number(values[1]) else { return false }
            return low <= x && x <= high
        case .matches: return regex!.firstMatch(in: String(a)) != nil
        case .notMatches: return regex!.firstMatch(in: String(a)) == nil
        case .lt, .le, .gt, .ge:
            let order: Int
            if let x = Expectation.number(String(a)), let y = Expectation.number(values[0]) {
                order = x < y ? -1 : (x > y ? 1 : 0)
            } else {
                let x = ignoreCase ? a.lowercased() : String(a)
                let y = ignoreCase ? values[0].lowercased() : values[0]
                order = x < y ? -1 : (x > y ? 1 : 0)
            }
            switch op {
            case .lt: return order < 0
            case .le: return order <= 0
            case .gt: return order > 0
            default: return order >= 0
            }
        }
    }

    private func equal(_ a: String, _ b: String) -> Bool {
        if let x = Expectation.number(a), let y = Expectation.number(b) { return x == y }
        return ignoreCase ? a.lowercased() == b.lowercased() : a == b
    }

    static func number(_ text: String) -> Double? {
        let t = text.trimmingWhitespace()
        if t.hasPrefix("0x") || t.hasPrefix("0X") { return UInt64(t.dropFirst(2), radix: 16).map(Double.init) }
        guard let first = t.first, first.isNumber || first == "-" || first == "+" || first == "." else { return nil }
        return Double(t)
    }

    public var description: String {
        let shown = values.count == 1 ? values[0] : "[" + values.joined(separator: ", ") + "]"
        let symbol: String
        switch op {
        case .eq: symbol = "="
        case .ne: symbol = "≠"
        case .lt: symbol = "<"
        case .le: symbol = "≤"
        case .gt: symbol = ">"
        case .ge: symbol = "≥"
        case .in: symbol = "one of"
        case .notIn: symbol = "none of"
        case .matches: symbol = "matching"
        case .notMatches: symbol = "not matching"
        case .between: return "between \(values[0]) and \(values[1])"
        }
        return "\(symbol) \(shown)"
    }
}

/// How a structured check judges what its selector found.
public enum AssertionMode: String, NamedValue, Sendable {
    /// Each selected item is a finding (`//telnetd[enabled='true']`).
    case forbid
    /// Finding when nothing is selected.
    case require
    /// Each selected item's value must satisfy `expect`; each one that does not is a finding.
    case each
    /// The number of selected items must satisfy `expect`.
    case count
}
