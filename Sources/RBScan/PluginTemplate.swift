import Foundation
import RBCore

/// The files `rbscan plugins new` writes: a working plugin to start from, whose rule's pass and
/// fail examples pass `rbscan plugins test` as written. Python plugins carry a copy of the
/// protocol helper (`Plugins/sdk/python/rbscan_plugin.py`), Swift plugins depend on the
/// `RBPluginSDK` product of the rbscan checkout they were made from.
public enum PluginTemplate {
    public enum Language: String, CaseIterable, Sendable {
        case python, sh, swift
    }

    public struct File: Sendable {
        public var text: String
        public var mode: Int
    }

    /// An SDK the language needs is not where rbscan's home is (docs/plugins.md, SDKs).
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The helper a Python plugin imports, under rbscan's home (a checkout, or share/rbscan).
    public static let pythonHelper = "Plugins/sdk/python/rbscan_plugin.py"

    /// The plugin's files, path → file. `home` is rbscan's home (`Resources.home()`): the Python
    /// helper is copied from it, and for Swift it must be an rbscan checkout (Package.swift and
    /// Sources/RBPluginSDK), which the plugin's Package.swift names by its absolute path.
    public static func files(name: String, language: Language, home: String?) throws(Failure) -> [String: File] {
        let namespace = String(name.uppercased().filter { $0.isLetter || $0.isNumber }.prefix(12))
        let prefix = namespace.count >= 2 && namespace.first!.isLetter ? namespace : "PLUG"
        let check = "\(name).debug-switch"
        let home = home.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        var files: [String: File] = [:]
        let command: String
        let build: String
        switch language {
        case .python:
            guard let home, let helper = try? String(contentsOfFile: home + "/" + pythonHelper, encoding: .utf8) else {
                throw Failure(description: "the Python helper \(pythonHelper) is not in rbscan's home (\(home ?? "not found")); set RBSCAN_HOME to an rbscan checkout or share/rbscan")
            }
            files["check.py"] = File(text: python(name: name), mode: 0o755)
            files["rbscan_plugin.py"] = File(text: helper, mode: 0o644)
            command = "[python3, check.py]"
            build = ""
        case .sh:
            files["check.sh"] = File(text: shell(name: name), mode: 0o755)
            command = "[sh, check.sh]"
            build = ""
        case .swift:
            guard let home, HostFiles.kind(of: home + "/Package.swift") == .regularFile,
                  HostFiles.kind(of: home + "/Sources/RBPluginSDK") == .directory else {
                throw Failure(description: "a Swift plugin is built against an rbscan checkout's RBPluginSDK, and rbscan's home (\(home ?? "not found")) is not one; run the checkout's rbscan or set RBSCAN_HOME to the checkout")
            }
            files["Package.swift"] = File(text: swiftPackage(name: name, checkout: home), mode: 0o644)
            files["Sources/main.swift"] = File(text: swiftMain(name: name), mode: 0o644)
            files[".gitignore"] = File(text: ".build/\nPackage.resolved\n", mode: 0o644)
            command = "[.build/release/\(name)]"
            build = "swift build -c release                   # the program rbscan runs: .build/release/\(name)\n"
        }
        let program = language == .swift ? "Sources/main.swift" : language == .python ? "check.py" : "check.sh"
        let manifest = """
            # An rbscan external check plugin (docs/plugins.md). Test it: rbscan plugins test --plugins .
            protocol: 1
            id: \(name)
            version: 0.1.0
            command: \(command)
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
        let sdk = switch language {
        case .python: """

            `rbscan_plugin.py` is rbscan's protocol helper, a copy of its
            `\(pythonHelper)`: rbscan runs `check.py` by its absolute path with a cleared
            environment, and Python finds the helper beside it. To follow a newer rbscan, copy its helper
            over this one.

            """
        case .sh: "\n"
        case .swift: """

            `Package.swift` depends on the `RBPluginSDK` product (protocol 1's messages, `PluginSession`)
            of the rbscan checkout it was made from, `\(home ?? "")`. rbscan runs the built executable,
            `.build/release/\(name)`: build it before testing or scanning, and after every change.

            """
        }
        let readme = """
            # \(name): an rbscan external check plugin

            `\(program)` speaks rbscan's plugin protocol 1 (docs/plugins.md in rbscan): it lists the target's
            `\(name).conf` files, reads them through rbscan and reports `debug=1`. The rule using its check,
            with pass and fail examples, is in `rules/\(name).yaml` (ID prefix `\(prefix)-`, declared in
            `rules/manifest.yaml`).
            \(sdk)
            ```sh
            \(build)rbscan plugins test --plugins .          # the rule's examples, through the plugin
            rbscan scan firmware.bin --plugins .     # a scan with the plugin's rules beside the shipped ones
            ```

            """
        files["plugin.yaml"] = File(text: manifest, mode: 0o644)
        files["rules/\(name).yaml"] = File(text: rules, mode: 0o644)
        files["rules/manifest.yaml"] = File(text: packManifest, mode: 0o644)
        files["README.md"] = File(text: readme, mode: 0o644)
        return files
    }

    static func python(name: String) -> String {
        #"""
        #!/usr/bin/env python3
        """rbscan plugin (protocol 1): reports debug=1 in **/\#(name).conf. Files come only through rbscan.

        rbscan_plugin.py beside this file is rbscan's protocol helper: rbscan runs this program by its
        absolute path with a cleared environment, and Python looks for imports in its directory first.
        """
        import sys

        sys.dont_write_bytecode = True  # a run writes nothing into the plugin's directory
        import rbscan_plugin  # noqa: E402


        def check(session):
            for entry in session.list("**/\#(name).conf"):
                if entry["type"] != "file":
                    continue
                try:
                    text = session.read_text(entry["path"])  # None: a binary file
                except rbscan_plugin.RequestError:
                    continue  # unreadable in the target: rbscan's own diagnostics say why
                for number, line in enumerate((text or "").splitlines(), 1):
                    if line.replace(" ", "") == "debug=1":
                        session.observe(entry["path"], f"debug is on in {entry['path']}", line=number, key="debug", snippet=line)


        rbscan_plugin.run(check)

        """#
    }

    static func swiftPackage(name: String, checkout: String) -> String {
        // SwiftPM names a path dependency after its directory.
        let identity = URL(fileURLWithPath: checkout).lastPathComponent
        func literal(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return #"""
        // swift-tools-version:6.0
        // An rbscan external check plugin (docs/plugins.md in rbscan). Build: swift build -c release
        import PackageDescription

        let package = Package(
            name: \#(literal(name)),
            dependencies: [
                // The rbscan checkout this plugin was made from: its RBPluginSDK product speaks protocol 1.
                .package(path: \#(literal(checkout))),
            ],
            targets: [
                .executableTarget(
                    name: \#(literal(name)),
                    dependencies: [.product(name: "RBPluginSDK", package: \#(literal(identity)))],
                    path: "Sources"),
            ]
        )

        """#
    }

    static func swiftMain(name: String) -> String {
        #"""
        // rbscan plugin (protocol 1): reports debug=1 in **/\#(name).conf. Files come only through rbscan.
        // PluginSession.main reads rbscan's run message, calls the closure, and sends the observations
        // it returns as the result; anything thrown ends the run as plugin.failed with the error.
        import RBPluginSDK

        PluginSession.main { session in
            var observations: [Observation] = []
            for entry in try session.list(["**/\#(name).conf"]) where entry.isFile {
                let text: String?
                do {
                    text = try session.readText(entry.path)  // nil: a binary file
                } catch let refusal as ErrorAnswer {
                    PluginSession.log("skipped \(refusal)")  // unreadable in the target: rbscan's own diagnostics say why
                    continue
                }
                let lines = (text ?? "").split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                for (index, line) in lines.enumerated() where line.filter({ $0 != " " }) == "debug=1" {
                    observations.append(Observation(path: entry.path, line: index + 1, message: "debug is on in \(entry.path)",
                                                    key: "debug", snippet: String(line)))
                }
            }
            return observations
        }

        """#
    }

    static func shell(name: String) -> String {
        """
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
    }
}
