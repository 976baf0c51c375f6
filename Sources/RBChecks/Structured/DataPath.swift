import RBCore
import Yams

/// A path into a JSON or YAML document: `services.telnet.enabled`, `users[*].password`,
/// `interfaces.*.port`, `["key.with.dots"].value`, `items[0]`.
struct DataPath: Sendable {
    enum Step: Sendable, Equatable {
        case key(String)
        case anyKey
        case index(Int)
        case anyIndex
    }

    let text: String
    let steps: [Step]

    init(_ text: String) throws(CheckOptionError) {
        self.text = text
        var steps: [Step] = []
        var chars = Substring(text)
        if chars.hasPrefix("$") { chars = chars.dropFirst() }
        while !chars.isEmpty {
            if chars.hasPrefix(".") { chars = chars.dropFirst(); continue }
            if chars.hasPrefix("[") {
                guard let close = chars.firstIndex(of: "]") else { throw CheckOptionError(key: "path", "unclosed '[' in '\(text)'") }
                let inside = chars[chars.index(after: chars.startIndex)..<close]
                if inside == "*" {
                    steps.append(.anyIndex)
                } else if let index = Int(inside), index >= 0 {
                    steps.append(.index(index))
                } else if inside.count >= 2, let q = inside.first, q == "\"" || q == "'", inside.last == q {
                    steps.append(.key(String(inside.dropFirst().dropLast())))
                } else {
                    throw CheckOptionError(key: "path", "'[\(inside)]' is neither an index, [*] nor a quoted key in '\(text)'")
                }
                chars = chars[chars.index(after: close)...]
                continue
            }
            let end = chars.firstIndex(where: { $0 == "." || $0 == "[" }) ?? chars.endIndex
            let name = chars[..<end]
            steps.append(name == "*" ? .anyKey : .key(String(name)))
            chars = chars[end...]
        }
        guard !steps.isEmpty else { throw CheckOptionError(key: "path", "empty path") }
        self.steps = steps
    }

    /// The nodes the path selects, with a readable label each.
    func select(in root: Node) -> [(node: Node, label: String)] {
        var current: [(Node, String)] = [(root, "")]
        for step in steps {
            var next: [(Node, String)] = []
            for (node, label) in current {
                switch (step, node) {
                case (.key(let name), .mapping(let mapping)):
                    if let child = mapping[name] { next.append((child, label.isEmpty ? name : label + "." + name)) }
                case (.anyKey, .mapping(let mapping)):
                    for (key, value) in mapping {
                        let name = key.scalar?.string ?? "?"
                        next.append((value, label.isEmpty ? name : label + "." + name))
                    }
                case (.index(let i), .sequence(let sequence)):
                    if i < sequence.count { next.append((sequence[i], label + "[\(i)]")) }
                case (.anyIndex, .sequence(let sequence)), (.anyKey, .sequence(let sequence)):
                    for (i, value) in sequence.enumerated() { next.append((value, label + "[\(i)]")) }
                default:
                    break
                }
            }
            current = next
        }
        return current
    }
}

/// The options of `json.path` and `yaml.path`.
public struct DataPathOptions: Decodable, Sendable {
    var paths: [String]
    var exclude: [String]?
    /// The path into the document (`services.telnet.enabled`, `users[*].password`).
    var path: String
    var mode: AssertionMode?
    var expect: Expectation?
    /// Finding message; `{path}`, `{line}`, `{node}`, `{value}`, `{count}`, `{expected}`.
    var message: String?
}

/// The shared body of `json.path` and `yaml.path`.
struct DataPathEvaluator: Sendable {
    let paths: [Glob]
    let exclude: [Glob]
    let path: DataPath
    let assertion: StructuredAssertion
    let format: String

    init(_ options: DataPathOptions, format: String) throws(CheckOptionError) {
        guard !options.paths.isEmpty else { throw CheckOptionError(key: "paths", "needs at least one pattern") }
        paths = try PathPatterns.compile(options.paths, key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? [], key: "exclude")
        path = try DataPath(options.path)
        assertion = try StructuredAssertion(selector: options.path, mode: options.mode, expect: options.expect,
                                            message: options.message)
        self.format = format
    }

    func run(in context: CheckContext) -> [Observation] {
        var observations: [Observation] = []
        for entry in context.files(matching: paths, excluding: exclude) {
            guard let content = context.read(entry) else { continue }
            guard ConfigContent.withinLimit(entry, size: content.bytes.count, format: format, context: context) else { continue }
            if format == "JSON", let reason = ConfigContent.notJSON(content.bytes) {
                context.note("\(entry.path) is not JSON (\(reason)); not checked as JSON", path: entry.path, code: "check.not-a-config")
                continue
            }
            if ConfigContent.isBinary(content.bytes) {
                context.note("\(entry.path) is not \(format) (binary content, likely encrypted or compressed); not checked as \(format)",
                             path: entry.path, code: "check.not-a-config")
                continue
            }
            let text = content.text
            let root: Node
            do {
                // JSON is read through the YAML parser too: it keeps line numbers.
                guard let node = try BoundedYAML.compose(text) else { continue }
                root = node
            } catch let tooLarge as BoundedYAML.TooLarge {
                context.report("\(tooLarge)", path: entry.path, code: "check.limit")
                continue
            } catch {
                context.unparsable("not valid \(format): \(Self.describe(error))", path: entry.path)
                continue
            }
            let items = path.select(in: root).map { node, label in
                SelectedItem(value: node.scalar?.string, line: node.mark?.line, label: label)
            }
            if !items.isEmpty { context.understood(entry.path) }
            observations += assertion.judge(items, path: entry.path)
        }
        return observations
    }

    static func describe(_ error: any Error) -> String {
        if let yaml = error as? YamlError {
            switch yaml {
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                return "\(problem) at line \(mark.line), column \(mark.column)"
            default: break
            }
        }
        return "\(error)"
    }
}
