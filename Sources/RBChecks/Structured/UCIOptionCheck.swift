import RBCore

/// `uci.option`: one option of every section of a type in an OpenWrt UCI file (`/etc/config/
/// wireless`: each `wifi-iface`), compared with an expectation. Unlike a config adapter's key (the
/// first value found), every section is judged: a second access point left open is a finding too.
/// `default` is the value of a section that does not set the option (the package's own default);
/// `when` judges only the sections where another option matches (`mode ap`); `disabled '1'`
/// sections are skipped.
public struct UCIOptionCheck: Check {
    public struct Options: Decodable, Sendable {
        /// The UCI package, i.e. the file's name (`wireless`).
        var package: String
        /// The section type (`wifi-iface`).
        var section: String
        var option: String
        var expect: Expectation
        /// The value when a section does not set the option; nil: such a section is not judged.
        var `default`: String?
        var when: Condition?
        /// `{section}`, `{option}`, `{value}`, `{expected}`, `{path}`.
        var message: String?
    }

    public struct Condition: Decodable, Sendable {
        var option: String
        var expect: Expectation
        var `default`: String?
    }

    public static let id = "uci.option"
    public static let summary = "Judges one option of every section of a type in an OpenWrt UCI file."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let options: Options

    public init(options: Options) throws(CheckOptionError) {
        guard options.package.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }), !options.package.isEmpty else {
            throw CheckOptionError(key: "package", "a UCI package name (the file name under /etc/config)")
        }
        self.options = options
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        // A config target is the file itself (its name is the package).
        let pattern = context.kind == .config ? options.package : "etc/config/" + options.package
        guard let globs = try? PathPatterns.compile([pattern], key: "package") else { return [] }
        var observations: [Observation] = []
        for file in context.files(matching: globs) {
            guard let text = context.readText(file) else { continue }
            let sections = UCIFile(text).sections(ofType: options.section)
            if !sections.isEmpty { context.understood(file.path) }
            for (index, section) in sections.enumerated() where !section.bool("disabled", default: false) {
                if let condition = options.when {
                    guard let value = section.option(condition.option)?.value ?? condition.default,
                          condition.expect.isSatisfied(by: value) else { continue }
                }
                let set = section.option(options.option)
                guard let value = set?.value ?? options.default, !options.expect.isSatisfied(by: value) else { continue }
                let name = section.name ?? "@\(options.section)[\(index)]"
                let values = ["section": name, "option": options.option, "value": value, "expected": options.expect.description, "path": file.path]
                observations.append(Observation(
                    message: Template.render(options.message ?? "{section}: {option} = '{value}'; expected {expected}", values),
                    location: Location(path: file.path, line: set?.line ?? section.line),
                    evidence: Evidence(key: "uci:\(options.package).\(name).\(options.option)=\(value)",
                                       facts: ["section": name, "option": options.option, "value": value])))
            }
        }
        return observations
    }
}
