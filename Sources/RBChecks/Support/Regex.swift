import Foundation

/// A compiled regular expression (ICU syntax through Foundation), with line-aware matching.
public struct Regex: @unchecked Sendable {
    // NSRegularExpression is immutable and documented as thread-safe.
    let expression: NSRegularExpression
    public let pattern: String

    public init(_ pattern: String, ignoreCase: Bool = false) throws(RegexError) {
        self.pattern = pattern
        var options: NSRegularExpression.Options = [.anchorsMatchLines]
        if ignoreCase { options.insert(.caseInsensitive) }
        do {
            expression = try NSRegularExpression(pattern: pattern, options: options)
        } catch {
            throw RegexError(pattern: pattern)
        }
    }

    /// The first match in `text`: the matched text and its capture groups (nil when a group did
    /// not take part).
    public func firstMatch(in text: String) -> [String?]? {
        let ns = text as NSString
        guard let match = expression.firstMatch(in: text, range: NSRange(location: 0, length: ns.length)) else { return nil }
        return Regex.groups(match, ns)
    }

    /// Every match in `text` with its UTF-16 range and groups.
    public func matches(in text: String) -> [(range: NSRange, groups: [String?])] {
        let ns = text as NSString
        return expression.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ($0.range, Regex.groups($0, ns)) }
    }

    static func groups(_ match: NSTextCheckingResult, _ ns: NSString) -> [String?] {
        (0..<match.numberOfRanges).map { i in
            let range = match.range(at: i)
            return range.location == NSNotFound ? nil : ns.substring(with: range)
        }
    }
}

public struct RegexError: Error, Sendable, CustomStringConvertible {
    public var pattern: String
    public var description: String { "invalid regular expression '\(pattern)'" }
}
