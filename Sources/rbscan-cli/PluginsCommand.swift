import Foundation
import ArgumentParser
import RBChecks
import RBCore
import RBScan

/// `rbscan plugins list|test`: the external check plugins of --plugins directories (docs/plugins.md).
struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List external check plugins, or run the examples of the rules that use their checks.",
        subcommands: [List.self, Test.self, New.self])

    struct Source: ParsableArguments {
        @Option(name: .customLong("plugins"), help: "A plugin directory, or a directory of them (repeatable).", completion: .directory)
        var directories: [String] = []

        func load() throws -> [Plugin] {
            guard !directories.isEmpty else { throw ValidationError("give --plugins DIR") }
            let (plugins, diagnostics) = Plugin.load(directories: directories)
            for diagnostic in diagnostics { Output.stderr("\(diagnostic)\n") }
            if diagnostics.contains(where: { $0.level == .error }) { throw ExitCode(ExitStatus.usage.rawValue) }
            return plugins
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the plugins and the checks they provide.")
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
    /// `rbscan plugins new NAME --lang python|sh`: a working plugin to start from, with a rule
    /// pack using its check, pass and fail examples, and a README.
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a working plugin to start from: manifest, program, a rule with pass/fail examples, README.")
        @Argument(help: "The plugin's name (lower case letters, digits, '-').")
        var name: String
        @Option(help: "python or sh.")
        var lang: String = "python"
        @Option(help: "Where to write it (default: the current directory).", completion: .directory)
        var directory: String = "."

        func validate() throws {
            guard !name.isEmpty, name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }), name.first!.isLetter else {
                throw ValidationError("the name is lower case letters, digits and '-', starting with a letter")
            }
            guard ["python", "sh"].contains(lang) else { throw ValidationError("--lang is python or sh") }
        }

        func run() throws {
            let root = directory + "/" + name
            guard HostFiles.kind(of: root) == .missing else {
                Output.stderr("rbscan: \(root) exists already\n")
                throw ExitCode(ExitStatus.usage.rawValue)
            }
            let files = PluginTemplate.files(name: name, lang: lang)
            for (path, (text, mode)) in files.sorted(by: { $0.key < $1.key }) {
                let full = root + "/" + path
                let parent = String(full[..<full.lastIndex(of: "/")!])
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: full, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
                    Output.stderr("rbscan: cannot write \(full)\n")
                    throw ExitCode(ExitStatus.usage.rawValue)
                }
            }
            Output.stdout("wrote \(root) (\(files.count) files); try: rbscan plugins test --plugins \(root)\n")
        }
    }
}

/// The files `rbscan plugins new` writes.
enum PluginTemplate {
    static func files(name: String, lang: String) -> [String: (String, Int)] {
        let namespace = String(name.uppercased().filter { $0.isLetter || $0.isNumber }.prefix(12))
        let prefix = namespace.count >= 2 && namespace.first!.isLetter ? namespace : "PLUG"
        let check = "\(name).debug-switch"
        let program = lang == "python" ? "check.py" : "check.sh"
        let manifest = """
            # An rbscan external check plugin (docs/plugins.md). Test it: rbscan plugins test --plugins .
            protocol: 1
            id: \(name)
            version: 0.1.0
            command: [\(lang == "python" ? "python3" : "sh"), \(program)]
            timeout: 30
            checks:
              - id: \(check)
                summary: A debug switch left on in etc/\(name).conf (debug=1)
                targets: [firmware, config]

            """
        // The rules' manifest: their namespace, and the rbscan they were written against onwards.
        let minor = RBScanVersion.current.split(separator: ".").prefix(2).joined(separator: ".")
        let packManifest = """
            # What these rules are (docs/writing-rules.md in rbscan, "Rules directories"): every rule ID
            # here starts with the prefix.
            format: 1
            id: \(name)
            version: 0.1.0
            prefix: \(prefix)
            rbscan: ">=\(minor)"
            title: \(name) (plugin)

            """
        let rules = """
            version: 1
            pack: \(name)
            title: \(name) (plugin)
            rules:
              - id: \(prefix)-SYS-001
                title: No debug switch in release configuration
                category: SYS
                severity: medium
                description: |
                  etc/\(name).conf must not ship with debug=1: debug modes log secrets and open interfaces.
                remediation: |
                  Set debug=0 in the release image's etc/\(name).conf.
                check: \(check)
                targets: [firmware, config]
                examples:
                  fail:
                    - files:
                        etc/\(name).conf: "name=device\\ndebug=1\\n"
                      line: 2
                  pass:
                    - files:
                        etc/\(name).conf: "name=device\\ndebug=0\\n"

            """
        let python = """
            #!/usr/bin/env python3
            \"\"\"rbscan plugin (protocol 1): reports debug=1 in **/\(name).conf. Files come only through rbscan.\"\"\"
            import base64, json, sys

            def send(message):
                sys.stdout.write(json.dumps(message) + "\\n")
                sys.stdout.flush()

            def receive():
                line = sys.stdin.readline()
                if not line:
                    sys.exit(0)
                return json.loads(line)

            request = receive()                      # {"type": "run", "check": ..., "options": ..., "target": ...}
            send({"type": "list", "globs": ["**/\(name).conf"]})
            observations = []
            for entry in receive().get("files", []):
                if entry["type"] != "file":
                    continue
                send({"type": "read", "path": entry["path"], "offset": 0, "length": 1 << 20, "unlessBinary": True})
                answer = receive()
                if answer.get("type") != "data":
                    continue
                text = base64.b64decode(answer["data"]).decode("utf-8", "replace")
                for number, line in enumerate(text.splitlines(), 1):
                    if line.replace(" ", "") == "debug=1":
                        observations.append({"path": entry["path"], "line": number, "message": f"debug is on in {entry['path']}",
                                             "evidence": {"key": "debug", "snippet": line}})
            send({"type": "result", "observations": observations})

            """
        let shell = """
            #!/bin/sh
            # rbscan plugin (protocol 1): reports debug=1 in **/\(name).conf. Files come only through rbscan.
            read -r request || exit 0
            printf '{"type":"list","globs":["**/\(name).conf"]}\\n'
            read -r listing || exit 0
            found=""
            for path in $(printf '%s\\n' "$listing" | grep -o '"path":"[^"]*","size":[0-9]*,"type":"file"' | sed 's/^"path":"\\([^"]*\\)".*/\\1/'); do
              printf '{"type":"read","path":"%s","offset":0,"length":1048576,"unlessBinary":true}\\n' "$path"
              read -r answer || exit 0
              case "$answer" in *'"type":"data"'*) ;; *) continue ;; esac
              line=$(printf '%s' "$answer" | sed 's/.*"data":"\\([^"]*\\)".*/\\1/' | base64 -d | grep -n -x 'debug *= *1' | head -n 1 | cut -d: -f1)
              [ -n "$line" ] && found="$found{\\"path\\":\\"$path\\",\\"line\\":$line,\\"message\\":\\"debug is on in $path\\",\\"evidence\\":{\\"key\\":\\"debug\\"}},"
            done
            printf '{"type":"result","observations":[%s]}\\n' "${found%,}"

            """
        let readme = """
            # \(name): an rbscan external check plugin

            `\(program)` speaks rbscan's plugin protocol 1 (docs/plugins.md in rbscan): it lists the target's
            `\(name).conf` files, reads them through rbscan and reports `debug=1`. The rule using its check,
            with pass and fail examples, is in `rules/\(name).yaml` (ID prefix `\(prefix)-`, declared in
            `rules/manifest.yaml`).

            ```sh
            rbscan plugins test --plugins .          # the rule's examples, through the plugin
            rbscan scan firmware.bin --plugins .     # a scan with the plugin's rules beside the shipped ones
            ```

            """
        return ["plugin.yaml": (manifest, 0o644), program: (lang == "python" ? python : shell, 0o755),
                "rules/\(name).yaml": (rules, 0o644), "rules/manifest.yaml": (packManifest, 0o644), "README.md": (readme, 0o644)]
    }
}
