import RBCore

/// `json.path`: a path into JSON configs (`services.telnet.enabled`, `users[*].role`), with
/// the same modes as `xml.xpath` and line numbers.
public struct JSONPathCheck: Check {
    public typealias Options = DataPathOptions

    public static let id = "json.path"
    public static let summary = "Selects values in JSON files by path (exists / value / count), with line numbers."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let evaluator: DataPathEvaluator

    public init(options: Options) throws(CheckOptionError) {
        evaluator = try DataPathEvaluator(options, format: "JSON")
    }

    public func run(in context: CheckContext) async throws -> [Observation] { evaluator.run(in: context) }
}
