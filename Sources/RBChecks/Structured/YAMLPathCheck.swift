import RBCore

/// `yaml.path`: a path into YAML configs, with the same modes as `xml.xpath` and line numbers.
public struct YAMLPathCheck: Check {
    public typealias Options = DataPathOptions

    public static let id = "yaml.path"
    public static let summary = "Selects values in YAML files by path (exists / value / count), with line numbers."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let evaluator: DataPathEvaluator

    public init(options: Options) throws(CheckOptionError) {
        evaluator = try DataPathEvaluator(options, format: "YAML")
    }

    public func run(in context: CheckContext) async throws -> [Observation] { evaluator.run(in: context) }
}
