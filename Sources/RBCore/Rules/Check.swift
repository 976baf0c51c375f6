/// A check plugin: one Swift type per check, behind this protocol, registered in one explicit
/// list (`BuiltinChecks.all` in RBChecks). Rules bind an ID and metadata to a check and its
/// options, so several rules can share one check.
public protocol Check: Sendable {
    /// The options a rule gives in its `options:` mapping; decoded strictly (unknown keys are errors).
    associatedtype Options: Decodable & Sendable

    /// Stable check ID, `family.name` (`file.regex`, `xml.xpath`).
    static var id: String { get }
    /// One line for `rbscan rules list` and docs.
    static var summary: String { get }
    /// The target kinds the check can look at.
    static var targetKinds: Set<TargetKind> { get }

    /// Validates the options once, at load time (compile patterns, check ranges); throws
    /// `CheckOptionError` naming the offending option.
    init(options: Options) throws(CheckOptionError)

    /// Runs on one target. Per-file problems go to `context.report`; a thrown error means the
    /// check could not complete on this target.
    func run(in context: CheckContext) async throws -> [Observation]

    /// A rough relative cost (1 = looks at a few files); the engine starts costly checks first
    /// so that they do not end up running alone at the end of a scan.
    var costHint: Int { get }

    /// Byte strings whose presence in each binary file the check wants to know. The engine's
    /// read-ahead pass reads every binary once anyway and records which of them it holds
    /// (`CheckContext.markers(in:)`), so a check searching all binaries for a rare marker
    /// does not read them all a second time.
    var binaryMarkers: [[UInt8]] { get }

    /// What the check will want of file contents that the engine's read-ahead pass can compute
    /// while it holds each file anyway (the digests of the files a package manifest lists), so
    /// the check does not read those files a second time. Asked once per target before the pass;
    /// only cheap work belongs here (reading the manifests), and the answer must not depend on
    /// anything but the target.
    func contentInterests(in context: CheckContext) -> ContentInterests
}

extension Check {
    public var costHint: Int { 1 }
    public var binaryMarkers: [[UInt8]] { [] }
    public func contentInterests(in context: CheckContext) -> ContentInterests { ContentInterests() }
}

/// An invalid option value; `key` names the option so the loader can point at its line.
public struct CheckOptionError: Error, Sendable, CustomStringConvertible {
    public var key: String?
    public var message: String
    public init(key: String? = nil, _ message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { (key.map { "option '\($0)': " } ?? "") + message }
}

/// A check that is not a Swift type of this build: an external plugin's check, made from the
/// rule's options at load time.
public protocol DynamicCheck: Sendable {
    var id: String { get }
    var summary: String { get }
    var targetKinds: Set<TargetKind> { get }
    /// Builds the check for one rule from its `options:` node (nil: none given).
    func make(options: CapturedNode?) throws(CheckOptionError) -> any Check
}

/// The explicit, immutable set of check types a run knows, and the external plugins' checks.
public struct CheckRegistry: Sendable {
    public let types: [any Check.Type]
    private let byID: [String: any Check.Type]
    public let dynamic: [String: any DynamicCheck]

    public init(_ types: [any Check.Type], dynamic: [any DynamicCheck] = []) {
        var byID: [String: any Check.Type] = [:]
        for type in types {
            precondition(byID[type.id] == nil, "check id \(type.id) registered twice")
            byID[type.id] = type
        }
        self.types = types
        self.byID = byID
        var external: [String: any DynamicCheck] = [:]
        for check in dynamic where byID[check.id] == nil && external[check.id] == nil { external[check.id] = check }
        self.dynamic = external
    }

    /// This registry with external checks added (a built-in ID is never shadowed).
    public func adding(_ checks: [any DynamicCheck]) -> CheckRegistry {
        CheckRegistry(types, dynamic: Array(dynamic.values) + checks)
    }

    public func type(for id: String) -> (any Check.Type)? { byID[id] }
    public var ids: [String] { (types.map { $0.id } + dynamic.keys).sorted() }

    /// Decodes `options` for the check `id` and builds it. Errors name the file, line and column.
    public func instantiate(_ id: String, options: CapturedNode?, decoder: NodeDecoder) throws(DiagnosticError) -> any Check {
        guard let type = byID[id] else {
            if let external = dynamic[id] {
                do {
                    return try external.make(options: options)
                } catch {
                    throw DiagnosticError(Diagnostic(.error, .configuration, code: "rule.bad-option", "\(error)",
                                                     at: options?.node.mark.map { SourceLocation(file: decoder.file, line: $0.line, column: $0.column) }))
                }
            }
            throw DiagnosticError(Diagnostic(.error, .configuration, code: "rule.unknown-check",
                                             "unknown check '\(id)' (known: \(ids.joined(separator: ", ")))"))
        }
        return try CheckRegistry.make(type, options: options, decoder: decoder)
    }

    private static func make<C: Check>(_ type: C.Type, options: CapturedNode?,
                                       decoder: NodeDecoder) throws(DiagnosticError) -> any Check {
        let decoded: C.Options
        if let options {
            decoded = try decoder.decode(C.Options.self, from: options.node, basePath: options.codingPath)
        } else {
            decoded = try decoder.decode(C.Options.self, from: .mapping(.init([])))
        }
        do {
            return try C(options: decoded)
        } catch {
            var mark = options?.node.mark
            if let key = error.key, case .mapping(let mapping)? = options?.node,
               let keyNode = mapping.keys.first(where: { $0.scalar?.string == key }) {
                mark = keyNode.mark
            }
            throw DiagnosticError(Diagnostic(.error, .configuration, code: "rule.bad-option", error.description,
                                             at: SourceLocation(file: decoder.file, line: mark?.line, column: mark?.column)))
        }
    }
}
