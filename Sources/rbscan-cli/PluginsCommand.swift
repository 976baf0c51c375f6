import Foundation
import ArgumentParser
import RBChecks
import RBCore
import RBScan

/// `rbscan plugins list|test|new`: the external check plugins of --plugins directories, and new
/// ones from a template (docs/plugins.md).
struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List external check plugins, run the examples of the rules that use their checks, or write a new one.",
        subcommands: [List.self, Test.self, New.self])

    struct Source: ParsableArguments {
        @Option(name: .customLong("plugins"), help: "A plugin directory, or a directory of them (repeatable).", completion: .directory)
        var directories: [String] = []

        func load() throws -> [Plugin] {
            let directories = self.directories.isEmpty ? Resources.defaultPluginsDirectory.map { [$0] } ?? [] : self.directories
            guard !directories.isEmpty else { throw ValidationError("give --plugins DIR (no site plugins in share/rbscan/plugins.d)") }
            let (plugins, diagnostics) = Plugin.load(directories: directories)
            for diagnostic in diagnostics { Output.stderr("\(diagnostic)\n") }
            if diagnostics.contains(where: { $0.level == .error }) { throw ExitCode(ExitStatus.usage.rawValue) }
            return plugins
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the plugins and the checks they provide.")
        @OptionGroup var source: Source

        func run() throws {
            for plugin in try source.load() {
                Output.stdout("\(plugin.id) \(plugin.version)  \(plugin.directory)  (\(plugin.command.joined(separator: " ")), timeout \(Int(plugin.timeout)) s)\n")
                for check in plugin.checks {
                    Output.stdout("  \(check.id)  [\(check.targets.map(\.rawValue).sorted().joined(separator: ", "))]  \(check.summary)\n")
                }
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Run the pass and fail examples of every rule that uses a plugin's check (the plugins' rules/ packs and --rules).")
        @OptionGroup var source: Source
        @Option(name: .customLong("rules"), help: "More rules directories whose rules may use the plugins' checks (repeatable).", completion: .directory)
        var ruleDirectories: [String] = []

        func run() async throws {
            let plugins = try source.load()
            let checks = Set(plugins.flatMap { $0.checks.map(\.id) })
            let configuration = ScanSession.configuration(ruleDirectories: ruleDirectories, baseline: nil,
                                                          pluginDirectories: source.directories)
            guard configuration.isValid else {
                for diagnostic in configuration.diagnostics { Output.stderr("\(diagnostic)\n") }
                throw ExitCode(ExitStatus.usage.rawValue)
            }
            let rules = configuration.packs.flatMap(\.rules).filter { rule in rule.implementations.contains { checks.contains($0.checkID) } }
            guard !rules.isEmpty else {
                Output.stderr("no rule uses the checks of these plugins (\(checks.sorted().joined(separator: ", ")))\n")
                throw ExitCode(1)
            }
            let outcomes = await RuleTester(adapters: configuration.adapters).test(rules)
            let failed = Rules.printOutcomes(outcomes)
            Output.stdout("plugins: \(plugins.count), rules: \(outcomes.count - failed) passed, \(failed) failed\n")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}

extension PluginsCommand {
    /// `rbscan plugins new NAME --lang python|sh|swift`: a working plugin to start from, with a
    /// rule pack using its check, pass and fail examples, and a README (PluginTemplate).
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new",
            abstract: "Write a working plugin to start from: manifest, program, a rule with pass/fail examples, README.")
        @Argument(help: "The plugin's name (lower case letters, digits, '-').")
        var name: String
        @Option(help: "python (with the protocol helper), sh, or swift (a package using RBPluginSDK; needs an rbscan checkout).")
        var lang: String = "python"
        @Option(help: "Where to write it (default: the current directory).", completion: .directory)
        var directory: String = "."

        func validate() throws {
            guard !name.isEmpty, name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }), name.first!.isLetter else {
                throw ValidationError("the name is lower case letters, digits and '-', starting with a letter")
            }
            guard PluginTemplate.Language(rawValue: lang) != nil else {
                throw ValidationError("--lang is \(PluginTemplate.Language.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            let root = directory + "/" + name
            guard HostFiles.kind(of: root) == .missing else {
                Output.stderr("rbscan: \(root) exists already\n")
                throw ExitCode(ExitStatus.usage.rawValue)
            }
            let language = PluginTemplate.Language(rawValue: lang)!
            let files: [String: PluginTemplate.File]
            do {
                files = try PluginTemplate.files(name: name, language: language, home: Resources.home())
            } catch {
                Output.stderr("rbscan: \(error)\n")
                throw ExitCode(ExitStatus.usage.rawValue)
            }
            for (path, file) in files.sorted(by: { $0.key < $1.key }) {
                let full = root + "/" + path
                let parent = String(full[..<full.lastIndex(of: "/")!])
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: full, contents: Data(file.text.utf8), attributes: [.posixPermissions: file.mode]) else {
                    Output.stderr("rbscan: cannot write \(full)\n")
                    throw ExitCode(ExitStatus.usage.rawValue)
                }
            }
            let build = language == .swift ? "build it: swift build -c release --package-path \(root); then " : ""
            Output.stdout("wrote \(root) (\(files.count) files); \(build)try: rbscan plugins test --plugins \(root)\n")
        }
    }
}
