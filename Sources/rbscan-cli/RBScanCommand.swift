import Foundation
import ArgumentParser
import RBCore
import RBCrypto
import RBScan

/// `rbscan`: parses arguments and hands over to the RBScan library; nothing else lives here.
@main
struct RBScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rbscan",
        abstract: "Security Red Baseline 2.1 compliance scanner for IoT firmware, device configs and endpoints.",
        discussion: """
        Exit codes: 0 no failing finding at or above the gate; 1 the gate failed (even when some \
        targets or checks could not be examined); 2 usage error, invalid rule, baseline or other \
        input file, or no target could be scanned; 3 some targets or checks could not be examined \
        and the gate did not fail on the rest (listed in the output).
        """,
        version: RBScanVersion.current,
        subcommands: [Scan.self, Merge.self, Diff.self, Inspect.self, Rules.self, PluginsCommand.self, Version.self])

    /// Runs the command and maps every outcome to the exit-code contract (ArgumentParser's own
    /// usage errors would exit 64; rbscan's contract says 2).
    static func main() async {
        Profiler.begin()
        HeapTrim.configure()
        Output.prepareStandardStreams()
        let known = configuration.subcommands.map { $0.configuration.commandName ?? "\($0)".lowercased() } + ["help"]
        if let suggestion = Suggestions.forSubcommand(Array(CommandLine.arguments.dropFirst()), known: known) {
            Output.stderr(suggestion + "\n")
            Output.exit(ExitStatus.usage.rawValue)
        }
        var code: Int32
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            code = 0
        } catch let exit as ExitCode {
            code = exit.rawValue
        } catch {
            let parserCode = exitCode(for: error)
            let message = fullMessage(for: error)
            if parserCode == .success {
                Output.stdout(message + "\n")
                code = 0
            } else {
                Output.stderr(message + "\n")
                code = ExitStatus.usage.rawValue
            }
        }
        // Output that never reached standard output is not a success (reports already said so).
        if let error = Output.stdoutError, code != ExitStatus.usage.rawValue {
            Output.stderr("rbscan: cannot write standard output: \(error) (exit 2)\n")
            code = ExitStatus.usage.rawValue
        }
        // Spools are unlinked as they are made; their private directory goes too.
        Spool.cleanUp()
        Output.exit(code)
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print rbscan's version, the commit it was built from, and the rule packs and baseline it loads.")

    func run() {
        var out = "rbscan \(RBScanVersion.current)\n"
        let home = Resources.home()
        let build = home.flatMap { BuildInfo.read(home: $0) }
        out += "commit:    \(build?.commit ?? "unknown")\(build?.dirty == true ? " (modified)" : "")\n"
        if let date = build?.date { out += "built:     \(date)\n" }
        out += "data:      \(home ?? "not found (set RBSCAN_HOME)")\n"
        let configuration = ScanSession.configuration(ruleDirectories: [], baseline: nil, examples: false)
        if let baseline = configuration.baseline { out += "baseline:  \(baseline.id) (gate \(baseline.failOn))\n" }
        // The rules' own version and the rbscan versions they were written for (manifest.yaml).
        var manifests: [PackManifest] = []
        for manifest in configuration.packs.compactMap(\.manifest) where !manifests.contains(manifest) { manifests.append(manifest) }
        for manifest in manifests {
            out += "rules:     \(manifest.id) \(manifest.version) (prefix \(manifest.prefix), rbscan \(manifest.rbscan))\n"
        }
        for pack in configuration.packs.sorted(by: { $0.id < $1.id }) {
            let digest = (try? HostFiles.readBytes(pack.file)).map { "sha256:" + Digest.sha256Hex($0).prefix(12) } ?? "unreadable"
            out += "pack:      \(pack.id.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(pack.rules.count).leftPadded(3)) rules  \(digest)\n"
        }
        Output.stdout(out)
    }
}

/// What `scripts/install` records beside the data (`BUILD-INFO`: `commit=…`, `date=…`), or, in a
/// checkout, what `.git` says.
struct BuildInfo {
    var commit: String
    var date: String?
    var dirty = false

    static func read(home: String) -> BuildInfo? {
        if let text = try? String(contentsOfFile: home + "/BUILD-INFO", encoding: .utf8) {
            var values: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { values[parts[0]] = parts[1] }
            }
            if let commit = values["commit"] { return BuildInfo(commit: commit, date: values["date"], dirty: values["dirty"] == "true") }
        }
        // A checkout: HEAD names a ref (loose or packed) or is detached.
        guard let head = try? String(contentsOfFile: home + "/.git/HEAD", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        guard head.hasPrefix("ref: ") else { return BuildInfo(commit: head) }
        let ref = String(head.dropFirst(5))
        if let loose = try? String(contentsOfFile: home + "/.git/" + ref, encoding: .utf8) {
            return BuildInfo(commit: loose.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let packed = (try? String(contentsOfFile: home + "/.git/packed-refs", encoding: .utf8)) ?? ""
        for line in packed.split(separator: "\n") where line.hasSuffix(" " + ref) {
            return BuildInfo(commit: String(line.prefix { $0 != " " }))
        }
        return nil
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
