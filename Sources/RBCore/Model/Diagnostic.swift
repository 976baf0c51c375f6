/// A place in an input file that a diagnostic points at: rule packs and baselines give a line and
/// column, images give a byte offset.
public struct SourceLocation: Hashable, Codable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var offset: Int?

    public init(file: String, line: Int? = nil, column: Int? = nil, offset: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.offset = offset
    }

    /// `file:line:column`, `file:line`, `file@0xOFFSET` or `file`.
    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        if let offset { text += "@0x" + String(offset, radix: 16) }
        return text
    }
}

/// Something about the run itself, not about the target's security: a broken rule file, an
/// unreadable target, a check that could not finish. Diagnostics are never findings; they decide
/// exit codes 2 and 3 (see `ExitCode`).
public struct Diagnostic: Hashable, Codable, Sendable, CustomStringConvertible {
    public enum Level: String, Codable, Sendable, Comparable {
        case note, warning, error
        private var rank: Int { self == .note ? 0 : self == .warning ? 1 : 2 }
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rank < rhs.rank }
    }

    /// What part of the run it concerns; decides the exit code of an error.
    public enum Domain: String, Codable, Sendable {
        /// Rule packs, baselines and other inputs the user controls (exit 2).
        case configuration
        /// A target that could not be read or recognised at all (exit 2).
        case target
        /// A check that could not complete on a readable target (exit 3).
        case check
    }

    public var level: Level
    public var domain: Domain
    /// A stable code, e.g. `rule.unknown-key`, `target.unreadable`, `check.failed`.
    public var code: String
    public var message: String
    public var location: SourceLocation?
    /// The rule concerned, when there is one.
    public var ruleID: String?

    public init(_ level: Level, _ domain: Domain, code: String, _ message: String,
                at location: SourceLocation? = nil, rule ruleID: String? = nil) {
        self.level = level
        self.domain = domain
        self.code = code
        self.message = message
        self.location = location
        self.ruleID = ruleID
    }

    /// `file:line:col: error: message [code]`, the shape compilers use, so editors can jump to it.
    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        text += "\(level.rawValue): "
        if let ruleID { text += "\(ruleID): " }
        text += message + " [\(code)]"
        return text
    }
}

/// An error that carries diagnostics (one or many), thrown by loaders.
public struct DiagnosticError: Error, CustomStringConvertible, Sendable {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public init(_ diagnostic: Diagnostic) { self.diagnostics = [diagnostic] }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
