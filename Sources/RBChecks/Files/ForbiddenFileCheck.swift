import RBCore

/// `file.forbidden`: every entry matching the patterns is a finding (a shipped private key, a
/// debug tool, a `.git` directory).
public struct ForbiddenFileCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Path patterns (globs) of what must not exist.
        var paths: [String]
        var exclude: [String]?
        /// Entry types that count; default: any.
        var types: [FileType]?
        /// Finding message; `{path}`, `{type}` are filled in.
        var message: String?
    }

    public static let id = "file.forbidden"
    public static let summary = "Reports every entry that matches path patterns (things that must not ship)."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let paths: [Glob]
    let exclude: [Glob]
    let types: Set<FileType>?
    let message: String

    public init(options: Options) throws(CheckOptionError) {
        guard !options.paths.isEmpty else { throw CheckOptionError(key: "paths", "needs at least one pattern") }
        paths = try PathPatterns.compile(options.paths, key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? [], key: "exclude")
        types = options.types.map(Set.init)
        message = options.message ?? "{path} is present"
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let tree = context.tree else { return [] }
        return tree.index.entries(matching: paths).compactMap { entry in
            guard !entry.path.isEmpty, types?.contains(entry.type) ?? true,
                  !exclude.contains(where: { $0.matches(entry.path) }) else { return nil }
            return Observation(message: Template.render(message, ["path": entry.path, "type": entry.type.rawValue]),
                               location: Location(path: entry.path),
                               evidence: Evidence(key: entry.path, facts: ["type": entry.type.rawValue]))
        }
    }
}
