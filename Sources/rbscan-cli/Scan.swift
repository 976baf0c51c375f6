import ArgumentParser
import Foundation
import RBCore
import RBReport
import RBScan

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        // Named explicitly here and in every command: ArgumentParser otherwise derives the name
        // from the type with String(describing:), a runtime conformance search that took about
        // a fifth of the start-up of a scan.
        commandName: "scan",
        abstract: "Scan targets against the baseline.",
        discussion: """
        TARGET: a directory (an extracted root filesystem), a firmware image (recognised by \
        content: squashfs, tar, cpio, zip, compressed streams, uImage, TRX, at any offset, nested) \
        or a text file (a device config file). \
        --format and --output pair up in order: `--format sarif --output r.sarif --format json \
        --output r.json`. An --output without its --format takes the format from its extension; \
        '-' is standard output. The text summary goes to standard output unless a report does.

        Examples:
          rbscan scan firmware.bin                    # an image; text report
          rbscan scan rootfs/ --format sarif --output r.sarif
          rbscan scan out/rootfs.squashfs --format sarif-github \\
            --output r.github.sarif --path-prefix board/acme/rootfs-overlay
          rbscan scan tls://192.0.2.10:443 ssh://192.0.2.10:22
          rbscan scan 192.0.2.10                      # sweep a device's ports
          rbscan scan device.xml --waivers waivers.yaml --compare last.json
          rbscan scan --inventory fleet.yaml --shard 1/3 --format json \\
            --output shard-1.json
        """)

    @Argument(help: ArgumentHelp("Targets: directories (root filesystems), firmware images, config files, \(EndpointProbes.schemeList) endpoints, IP addresses or host://NAME hosts."), completion: .file())
    var targets: [String] = []

    @Option(name: .customLong("inventory"), help: "A fleet inventory (YAML: targets with names and tags), scanned after the TARGET arguments.", completion: .file(extensions: ["yaml", "yml"]))
    var inventory: String?

    @Option(name: .customLong("shard"), help: "I/N: scan only the I-th of N shards of the target list (every N-th target from the I-th); merge the shards' JSON reports with rbscan merge.")
    var shard: String?

    @Flag(name: .customLong("quiet"), help: "No progress bar on a terminal.")
    var quiet = false

    @Option(help: "Baseline name (in Baselines/) or file.", completion: .file(extensions: ["yaml", "yml"]))
    var baseline: String?

    @Option(name: .customLong("rules"), help: "A rules directory layered over the shipped Rules/ (repeatable): rule packs, adapters/ or both, with its manifest.yaml (docs/writing-rules.md).", completion: .directory)
    var ruleDirectories: [String] = []

    @Flag(name: .customLong("no-shipped-rules"), help: "Load only the --rules directories (and plugins' rules/), not the shipped Rules/.")
    var noShippedRules = false

    @Option(name: .customLong("plugins"), help: "An external check plugin directory, or a directory of them (repeatable); their checks become available to rules and their rules/ packs run (docs/plugins.md).", completion: .directory)
    var pluginDirectories: [String] = []

    @Option(name: .customLong("signing-key"), help: "A PEM public key or certificate the image's own signature must verify with (repeatable; RB-PKG-008).")
    var signingKeys: [String] = []

    @Option(name: .customLong("vuln-db"), help: "A directory of OSV vulnerability records (*.json, any depth; a KEV catalog *.csv in it is read too) the image's components are matched against (RB-PKG-003).", completion: .directory)
    var vulnDB: String?

    @Option(name: .customLong("kev"), help: "CISA's known_exploited_vulnerabilities.csv, when it is not inside --vuln-db.")
    var kev: String?

    @OptionGroup var triage: TriageOptions

    @OptionGroup var reports: ReportOptions

    @Option(name: .customLong("fail-on"), help: "Gate threshold: critical, high, medium, low, info or never (default: the baseline's).",
            completion: .list(["critical", "high", "medium", "low", "info", "never"]))
    var failOn: String?

    @Option(help: "Checks run concurrently (default: the number of cores).")
    var jobs: Int?

    @Option(name: .customLong("max-file-size"), help: "Bytes read from one file at most (default 64 MiB).")
    var maxFileSize: Int?

    @Option(name: .customLong("max-extracted"), help: "Bytes decompressed or extracted from images in one scan (default 8 GiB).")
    var maxExtracted: UInt64?

    @Option(name: .customLong("spool-reserve"), help: "Bytes of free space decompression leaves on the temporary file system (TMPDIR); it stops with a diagnostic before going below (default 256 MiB, at most 5 % of that file system; 0: until it is full).")
    var spoolReserve: UInt64?

    @Option(name: .customLong("max-config-size"), help: "Bytes of an XML, JSON or YAML config that is parsed at most; larger ones are reported as not checked (default 8 MiB).")
    var maxConfigSize: Int?

    @Option(name: .customLong("max-nesting"), help: "Containers nested in containers that are opened (default 8).")
    var maxNesting: Int?

    @Option(name: .customLong("max-files"), help: "Entries indexed per tree (default 2,000,000).")
    var maxFiles: Int?

    @Option(help: "Extra candidate passwords, one per line, tried after the bundled defaults.")
    var wordlist: String?

    @Option(name: .customLong("ports"), help: "Ports a host target's sweep tries, e.g. 23,80,8000-8100,1900/udp (default: the camera TCP and UDP sets; with --ports only the UDP ports listed are probed).")
    var ports: String?

    @Flag(name: .customLong("allow-auth-tests"), help: "Try the profile's default credentials (at most 3, 2 s apart, stopping at a lockout) on HTTP and RTSP logins. Off by default.")
    var allowAuthTests = false

    @Option(name: .customLong("profile"), help: "Device profile (declared interfaces, sensitive web paths); default Profiles/generic-camera.yaml.")
    var profile: String?

    @Option(name: .customLong("ca-file"), help: "CA certificates (PEM) to verify the chains endpoints serve against; adds trust and hostname findings.")
    var caFile: String?

    @Option(name: .customLong("crack-seconds"), help: "Time budget of the password check per target (default 30).")
    var crackSeconds: Double?

    @Option(name: .customLong("secret-key-file"), help: "A file whose bytes key the HMAC that names secrets (also RBSCAN_SECRET_KEY): with the same key across runs and shards, the same secret keeps its identity and password reuse is found by `rbscan merge`. Without one, no digest of a secret is written.")
    var secretKeyFile: String?

    func validate() throws {
        if let failOn, GateThreshold(rawValue: failOn) == nil {
            throw ValidationError("--fail-on must be one of critical, high, medium, low, info, never")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if let maxFileSize, maxFileSize < 1 { throw ValidationError("--max-file-size must be positive") }
        if let maxConfigSize, maxConfigSize < 1 { throw ValidationError("--max-config-size must be positive") }
        if let maxNesting, maxNesting < 0 { throw ValidationError("--max-nesting must not be negative") }
        if let maxFiles, maxFiles < 1 { throw ValidationError("--max-files must be positive") }
        if let crackSeconds, crackSeconds <= 0 { throw ValidationError("--crack-seconds must be positive") }
        if targets.isEmpty && inventory == nil { throw ValidationError("give at least one TARGET or --inventory FILE") }
        if let shard, Shard(shard) == nil { throw ValidationError("--shard takes I/N with 1 <= I <= N, e.g. 2/3") }
        if let ports, HostFacts.parsePorts(ports) == nil { throw ValidationError("--ports takes ports and ranges, UDP ones marked /udp, e.g. 23,80,8000-8100,1900/udp") }
        _ = try reports.plan()
    }

    func run() async throws {
        var limits = ScanLimits()
        if let maxFileSize { limits.maxFileBytes = maxFileSize }
        if let maxConfigSize { limits.maxConfigBytes = maxConfigSize }
        limits.signingKeys = signingKeys
        if let maxExtracted { limits.maxExtractedBytes = maxExtracted }
        limits.spoolReserveBytes = spoolReserve
        if let maxNesting { limits.maxNesting = maxNesting }
        if let maxFiles { limits.maxEntries = maxFiles }
        if let crackSeconds { limits.crackSeconds = crackSeconds }
        limits.caFile = caFile
        if let selection = ports.flatMap(HostFacts.parsePorts) {
            limits.ports = selection.tcp
            limits.udpPorts = selection.udp
        }
        limits.profileFile = profile
        limits.allowAuthTests = allowAuthTests
        if let secretKeyFile {
            let key: [UInt8]
            do {
                key = try HostFiles.readBytes(secretKeyFile, limit: 1 << 16)
            } catch {
                throw Output.usageFailure([Diagnostic(.error, .configuration, code: "input.unreadable", "--secret-key-file: \(error)",
                                                      at: SourceLocation(file: secretKeyFile))], "nothing scanned", reports: reports)
            }
            guard key.count >= 16 else {
                throw Output.usageFailure([Diagnostic(.error, .configuration, code: "input.invalid",
                                                      "--secret-key-file: the key must be at least 16 bytes (it was \(key.count))",
                                                      at: SourceLocation(file: secretKeyFile))], "nothing scanned", reports: reports)
            }
            limits.secrets = SecretDigest(userKey: key)
        } else if let key = ProcessInfo.processInfo.environment["RBSCAN_SECRET_KEY"], !key.isEmpty {
            guard key.utf8.count >= 16 else {
                throw Output.usageFailure([Diagnostic(.error, .configuration, code: "input.invalid",
                                                      "RBSCAN_SECRET_KEY must be at least 16 bytes")], "nothing scanned", reports: reports)
            }
            limits.secrets = SecretDigest(userKey: Array(key.utf8))
        }
        if allowAuthTests { Output.stderr("rbscan: --allow-auth-tests: default credentials will be tried on HTTP, RTSP, ONVIF, SSH, telnet and FTP logins\n") }
        if let wordlist {
            do {
                limits.extraPasswords = try HostFiles.readText(wordlist, limit: 256 << 20)
                    .split(separator: "\n", omittingEmptySubsequences: true)
                    .map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
            } catch {
                throw Output.usageFailure([Diagnostic(.error, .configuration, code: "input.unreadable", "--wordlist: \(error)",
                                                      at: SourceLocation(file: wordlist))], "nothing scanned", reports: reports)
            }
        }
        if vulnDB != nil || kev != nil {
            do {
                let loadStart = ContinuousClock.now
                limits.vulnerabilities = try VulnerabilityDatabase.load(directory: vulnDB, kevFile: kev)
                Profiler.note("vulnerability data", since: loadStart)
            } catch {
                throw Output.usageFailure(error, "--vuln-db: the vulnerability data did not load", reports: reports)
            }
        }
        // Waivers and earlier results are read before scanning: a broken file costs no scan.
        let loadedTriage = try triage.load(reports: reports)
        var specs = targets
        var labels: [String: TargetLabel] = [:]
        if let inventory {
            do {
                let loaded = try Inventory.load(file: inventory)
                for entry in loaded.entries {
                    specs.append(entry.target)
                    labels[entry.target] = TargetLabel(name: entry.name, tags: entry.tags ?? [])
                }
            } catch {
                throw Output.usageFailure(error, "nothing scanned", reports: reports)
            }
        }
        if let shard = shard.flatMap(Shard.init) {
            specs = shard.select(specs)
            if specs.isEmpty {
                Output.stderr("rbscan: shard \(shard.index)/\(shard.count) has no targets\n")
            }
        }
        let plan = try reports.plan()
        var options = ScanSession.Options(
            targets: specs, baseline: baseline, ruleDirectories: ruleDirectories,
            failOn: failOn.flatMap(GateThreshold.init(rawValue:)), jobs: jobs, limits: limits,
            commandLine: CommandLine.arguments.joined(separator: " "),
            components: plan.contains { type(of: $0.reporter).name == CycloneDXReporter.name })
        // The JSON report keeps the components the package rules built, so that `rbscan merge`
        // can write a fleet's SBOM.
        options.componentsIfBuilt = plan.contains { type(of: $0.reporter).name == JSONReporter.name }
        options.labels = labels
        options.pluginDirectories = pluginDirectories
        options.shippedRules = !noShippedRules
        options.ruleCache = NodeCache.userDefault()
        if !quiet, Output.isTerminal(2), ProcessInfo.processInfo.environment["CI"] == nil {
            options.progress = { finished, total in Output.progress(finished, total) }
        }
        let sessionStart = ContinuousClock.now
        var report = await ScanSession.run(options)
        Profiler.note("session", since: sessionStart)
        triage.apply(loadedTriage, to: &report)
        let status = report.exitStatus
        let renderStart = ContinuousClock.now
        defer { Profiler.note("reports", since: renderStart) }
        if report.targets.isEmpty && status == .usage {
            // Nothing could be scanned: the reports still hold why (a CI job keeps them).
            for diagnostic in report.diagnostics { Output.stderr("\(diagnostic)\n") }
            reports.writeFiles(report)
            Output.stderr("rbscan: nothing scanned (exit 2)\n")
            throw ExitCode(status.rawValue)
        }
        try reports.write(report, plan: plan)
        Output.keepUntilExit(report)
        throw ExitCode(status.rawValue)
    }
}
