import RBCore

/// `uci.option`: one option of every section of a type in an OpenWrt UCI file (`/etc/config/
/// wireless`: each `wifi-iface`), compared with an expectation. Unlike a config adapter's key (the
/// first value found), every section is judged: a second access point left open is a finding too.
/// `default` is the value of a section that does not set the option (the package's own default);
/// `when` judges only the sections where another option matches (`mode ap`; a list: all must);
/// `disabled '1'` and `enabled '0'` sections are skipped.
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
        var when: Conditions?
        /// `{section}`, `{option}`, `{value}`, `{expected}`, `{path}`.
        var message: String?
    }

    public struct Condition: Decodable, Sendable {
        var option: String
        var expect: Expectation
        var `default`: String?
    }

    /// One condition or a list of them (all must hold).
    public struct Conditions: Decodable, Sendable {
        var all: [Condition]
        public init(from decoder: any Decoder) throws {
            if let list = try? [Condition](from: decoder) { all = list } else { all = [try Condition(from: decoder)] }
        }
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
            for (index, section) in sections.enumerated() where !section.bool("disabled", default: false) && section.bool("enabled", default: true) {
                let conditions = options.when?.all ?? []
                guard conditions.allSatisfy({ condition in
                    guard let value = section.option(condition.option)?.value ?? condition.default else { return false }
                    return condition.expect.isSatisfied(by: value)
                }) else { continue }
                let set = section.option(options.option)
                guard let value = set?.value ?? options.default, !options.expect.isSatisfied(by: value) else { continue }
                let name = section.name ?? "@\(options.section)[\(index)]"
                // Anonymous sections are shown with their `name` option (firewall zones and rules).
                let label = section.name == nil ? section.option("name").map { "\(name) '\($0.value)'" } ?? name : name
                let values = ["section": label, "option": options.option, "value": value, "expected": options.expect.description, "path": file.path]
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
