import RBCore

/// `file.required`: a finding when no entry matches any of the patterns (a missing log
/// configuration, no CA bundle).
public struct RequiredFileCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]
        var types: [FileType]?
        /// Finding message; `{paths}` is filled in.
        var message: String?
    }

    public static let id = "file.required"
    public static let summary = "Reports when nothing matches the path patterns (something that must ship)."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let patterns: [String]
    let paths: [Glob]
    let types: Set<FileType>?
    let message: String

    public init(options: Options) throws(CheckOptionError) {
        guard !options.paths.isEmpty else { throw CheckOptionError(key: "paths", "needs at least one pattern") }
        patterns = options.paths
        paths = try PathPatterns.compile(options.paths, key: "paths")
        types = options.types.map(Set.init)
        message = options.message ?? "none of {paths} is present"
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let tree = context.tree else { return [] }
        let present = tree.index.entries(matching: paths).contains { entry in
            guard let types else { return true }
            if types.contains(entry.type) { return true }
            // A link counts as what it points at inside the root.
            return entry.type == .symlink && tree.resolve(entry.path).map { types.contains($0.type) } == true
        }
        if present { return [] }
        let shown = patterns.joined(separator: ", ")
        var location = patterns[0]
        while location.hasPrefix("/") { location.removeFirst() }
        return [Observation(message: Template.render(message, ["paths": shown]),
                            location: Location(path: location),
                            evidence: Evidence(key: "missing:" + shown))]
    }
}
