import ArgumentParser
import RBCore
import RBScan

/// `rbscan`: parses arguments and hands over to the RBScan library; nothing else lives here.
@main
struct RBScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rbscan",
        abstract: "Security Red Baseline 2.1 compliance scanner for IoT firmware, device configs and endpoints.",
        discussion: """
        Exit codes: 0 no failing finding at or above the gate; 1 the gate failed; 2 usage error, \
        invalid rule or baseline file, unreadable or unrecognised target; 3 the scan ran but some \
        checks could not complete (listed in the output).
        """,
        version: RBScanVersion.current,
        subcommands: [Scan.self, Merge.self, Diff.self, Inspect.self, Rules.self, Version.self])

    /// Runs the command and maps every outcome to the exit-code contract (ArgumentParser's own
    /// usage errors would exit 64; rbscan's contract says 2).
    static func main() async {
        Output.prepareStandardStreams()
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
    static let configuration = CommandConfiguration(abstract: "Print rbscan's version.")
    func run() { Output.stdout("rbscan \(RBScanVersion.current)\n") }
}
