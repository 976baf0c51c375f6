import Foundation
import RBCore
import RBPluginSDK
import Yams

/// An external check plugin: a directory with a manifest (`plugin.yaml`) and an executable in any
/// language, spoken to over stdin/stdout in JSON lines (protocol 1, docs/plugins.md).
///
/// ```yaml
/// protocol: 1
/// id: acme-ini
/// version: 1.0.0
/// command: [python3, check.py]      # run in an empty temporary directory; the path is relative to the plugin
/// timeout: 30                       # seconds per check run (default 30, at most 600)
/// checks:
///   - id: acme.ini-debug
///     summary: Debug switches in ACME INI exports
///     targets: [firmware, config]
/// ```
public struct Plugin: Sendable {
    public static let protocolVersion = 1

    public var id: String
    public var version: String
    public var directory: String
    public var command: [String]
    public var timeout: Double
    public var checks: [Spec]

    public struct Spec: Sendable {
        public var id: String
        public var summary: String
        public var targets: Set<TargetKind>
        /// The check reads (nearly) every file: the engine's read-ahead pass then reads each file
        /// once, in image order and on every core, before the plugin asks for them.
        public var wholeTree: Bool
    }

    struct Manifest: Decodable {
        var `protocol`: Int
        var id: String
        var version: String
        var command: [String]
        var timeout: Double?
        var checks: [CheckManifest]
    }

    struct CheckManifest: Decodable {
        var id: String
        var summary: String
        var targets: [TargetKind]
        var wholeTree: Bool?
    }

    /// Loads every plugin directory under each of `directories` (a directory holding a
    /// `plugin.yaml` is a plugin itself). Problems name the manifest's file and line.
    public static func load(directories: [String]) -> (plugins: [Plugin], diagnostics: [Diagnostic]) {
        var plugins: [Plugin] = []
        var diagnostics: [Diagnostic] = []
        var seen = Set<String>()
        for directory in directories {
            var candidates: [String] = []
            if HostFiles.kind(of: directory + "/plugin.yaml") == .regularFile {
                candidates = [directory]
            } else if let names = try? FileManager.default.contentsOfDirectory(atPath: directory) {
                candidates = names.sorted().map { directory + "/" + $0 }.filter { HostFiles.kind(of: $0 + "/plugin.yaml") == .regularFile }
            } else {
                diagnostics.append(Diagnostic(.error, .configuration, code: "plugin.not-found",
                                              "cannot read the plugin directory", at: SourceLocation(file: directory)))
            }
            for candidate in candidates {
                do {
                    let plugin = try load(candidate)
                    guard seen.insert(plugin.id).inserted else {
                        diagnostics.append(Diagnostic(.warning, .configuration, code: "plugin.duplicate",
                            "plugin \(plugin.id) is loaded already; this copy is ignored", at: SourceLocation(file: candidate + "/plugin.yaml")))
                        continue
                    }
                    plugins.append(plugin)
                } catch {
                    diagnostics += error.diagnostics
                }
            }
        }
        return (plugins, diagnostics)
    }

    static func load(_ directory: String) throws(DiagnosticError) -> Plugin {
        let file = directory + "/plugin.yaml"
        func fail(_ message: String, _ code: String = "plugin.invalid") -> DiagnosticError {
            DiagnosticError(Diagnostic(.error, .configuration, code: code, message, at: SourceLocation(file: file)))
        }
        let text: String
        do { text = String(decoding: try HostFiles.readBytes(file, limit: 1 << 20), as: UTF8.self) } catch { throw fail("\(error)", "plugin.unreadable") }
        let node = try NodeDecoder.compose(text, file: file)
        let manifest = try NodeDecoder(file: file).decode(Manifest.self, from: node)
        guard manifest.protocol == protocolVersion else {
            throw fail("plugin protocol \(manifest.protocol) is not spoken by this rbscan (it speaks \(protocolVersion))", "plugin.protocol")
        }
        guard !manifest.command.isEmpty else { throw fail("command is empty") }
        guard !manifest.checks.isEmpty else { throw fail("the plugin provides no checks") }
        for check in manifest.checks {
            let parts = check.id.split(separator: ".")
            guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" } }) else {
                throw fail("check id '\(check.id)' is not family.name (lower case, digits, '-')")
            }
        }
        var command = manifest.command
        // A program named with a path is the plugin's own (relative to its directory); a bare name
        // (python3, sh) is looked up in /usr/bin and /bin only.
        let absoluteDirectory = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        if command[0].contains("/") {
            command[0] = command[0].hasPrefix("/") ? command[0] : absoluteDirectory + "/" + command[0]
        } else if let found = ["/usr/bin/", "/bin/"].map({ $0 + command[0] }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            command[0] = found
        } else {
            throw fail("the program '\(command[0])' is not in /usr/bin or /bin", "plugin.command")
        }
        // The plugin's own files named as arguments (check.py) become absolute: it runs elsewhere.
        for i in command.indices.dropFirst() where !command[i].hasPrefix("-") && !command[i].hasPrefix("/")
            && HostFiles.kind(of: absoluteDirectory + "/" + command[i]) == .regularFile {
            command[i] = absoluteDirectory + "/" + command[i]
        }
        return Plugin(id: manifest.id, version: manifest.version, directory: absoluteDirectory, command: command,
                      timeout: min(max(manifest.timeout ?? 30, 1), 600),
                      checks: manifest.checks.map { Spec(id: $0.id, summary: $0.summary, targets: Set($0.targets), wholeTree: $0.wholeTree ?? false) })
    }

    /// The plugin's checks, for the registry.
    public var dynamicChecks: [any DynamicCheck] {
        checks.map { ExternalCheckFactory(plugin: self, spec: $0) }
    }
}

/// Makes an `ExternalCheck` for each rule that uses a plugin's check.
struct ExternalCheckFactory: DynamicCheck {
    let plugin: Plugin
    let spec: Plugin.Spec
    var id: String { spec.id }
    var summary: String { spec.summary + " (plugin \(plugin.id) \(plugin.version))" }
    var targetKinds: Set<TargetKind> { spec.targets }

    func make(options: CapturedNode?) throws(CheckOptionError) -> any Check {
        ExternalCheck(plugin: plugin, spec: spec, options: options.map { JSONValue.from($0.node) } ?? .object([:]))
    }
}

extension JSONValue {
    /// A YAML node as JSON: mappings and sequences as such, `true`/`false`/`null` and numbers by
    /// YAML's core schema, every other scalar a string.
    static func from(_ node: Node) -> JSONValue {
        switch node {
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping { object[key.scalar?.string ?? "\(key)"] = from(value) }
            return .object(object)
        case .sequence(let sequence):
            return .array(sequence.map(from))
        case .scalar(let scalar):
            let text = scalar.string
            if scalar.style == .plain {
                switch text {
                case "true", "True", "TRUE": return .bool(true)
                case "false", "False", "FALSE": return .bool(false)
                case "null", "Null", "NULL", "~", "": return .null
                default:
                    if let number = Double(text), text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" }) == true { return .number(number) }
                }
            }
            return .string(text)
        case .alias:
            return .null
        }
    }
}
