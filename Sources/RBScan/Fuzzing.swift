import Dispatch
import RBChecks
import RBCore
import RBImages
import RBNet

#if canImport(Glibc)
import Glibc
#endif

/// The fuzzing targets: each takes arbitrary bytes the way rbscan meets hostile input (a firmware
/// image, a device config, a network peer's answer, a rule/waiver/inventory/report file) and runs
/// the real code path on them. libFuzzer drives them through `rbscan-fuzz` (`scripts/fuzz`); the
/// tests replay the seeds and every saved crash (`Tests/Fuzz/<target>/`) through the same
/// functions, so a crash found once stays a regression test.
public enum Fuzzing {
    public struct Target: Sendable {
        public let name: String
        public let summary: String
        public let run: @Sendable ([UInt8]) -> Void
    }

    public static let targets: [Target] = [
        Target(name: "image", summary: "carving and every image reader, then every file of every tree read back", run: image),
        Target(name: "config", summary: "a device config target (XML, JSON, YAML, key=value) scanned by the shipped rules", run: config),
        Target(name: "network", summary: "the TLS, SSLv2, SSH, HTTP, RTSP, SNMP, SSDP, XML and banner parsers of the endpoint probes", run: network),
        Target(name: "triage", summary: "rule packs, baselines, device profiles, waivers, inventories, --compare and merge reports", run: triage),
    ]

    public static func target(named name: String) -> Target? { targets.first { $0.name == name } }

    /// Limits small enough that one input costs milliseconds, not the defaults' gigabytes.
    static let limits: ScanLimits = {
        var limits = ScanLimits()
        limits.maxExtractedBytes = 64 << 20
        limits.maxFileBytes = 4 << 20
        limits.maxConfigBytes = 1 << 20
        limits.maxNesting = 4
        limits.maxEntries = 20_000
        limits.threads = 1
        return limits
    }()

    /// A private directory for the files the targets write their input to (the readers take
    /// paths, as rbscan's own targets do).
    static let directory: String = {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((base + "/rbscan-fuzz-XXXXXX").utf8CString)
        return template.withUnsafeMutableBufferPointer { buffer in
            guard let made = mkdtemp(buffer.baseAddress!) else { return base }
            return String(cString: made)
        }
    }()

    static func write(_ bytes: [UInt8], name: String) -> String {
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return path }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { break }
            offset += written
        }
        return path
    }

    /// Runs `body` to completion from synchronous code (libFuzzer's callback is synchronous).
    static func wait(_ body: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await body()
            done.signal()
        }
        done.wait()
    }

    // MARK: targets

    static func image(_ bytes: [UInt8]) {
        let path = write(bytes, name: "image.bin")
        guard let analysis = try? ImageScanner(limits: limits).analyze(path: path) else { return }
        for (_, node) in analysis.filesystems {
            guard let tree = node.tree else { continue }
            _ = tree.resolve("etc/passwd")
            for entry in tree.readOrder(tree.index.entries.filter { $0.type == .file }) {
                _ = try? tree.read(entry, limit: 1 << 16)
                _ = try? tree.stream(entry, limit: 1 << 16, chunk: 4096, overlap: 16) { _, _ in true }
            }
        }
    }

    /// The shipped rules, loaded once per process.
    static let configuration = ScanSession.configuration(ruleDirectories: [], baseline: nil, examples: false)

    static func config(_ bytes: [UInt8]) {
        // The first byte picks the file name, which decides which rules select the file.
        let names = ["device.xml", "config.json", "app.yaml", "sshd_config", "system.conf", "uhttpd", "settings.ini", "shadow"]
        let name = names[Int(bytes.first ?? 0) % names.count]
        let path = write(Array(bytes.dropFirst()), name: name)
        let configuration = configuration
        let (resolved, _) = TargetResolver(limits: limits).resolve([path])
        var targets = resolved
        for i in targets.indices { targets[i].adapters = configuration.adapters }
        let scanned = targets
        wait {
            _ = await Engine(rules: configuration.rules, jobs: 1, limits: limits).scan(scanned)
        }
    }

    static func network(_ bytes: [UInt8]) {
        PeerBytes.parseAll(bytes)
        _ = CertificateFacts.summary(pem: String(decoding: bytes, as: UTF8.self))
    }

    static func triage(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = RuleLoader(registry: BuiltinChecks.registry, examples: true).loadPack(text: text, file: "fuzz.yaml")
        _ = try? WaiverSet.parse(text: text, file: "waivers.yaml")
        _ = try? PreviousResults.parse(bytes, file: "previous.json")
        let path = write(bytes, name: "input.yaml")
        _ = try? Inventory.load(file: path)
        _ = try? DeviceProfile.load(file: path)
        _ = try? Baseline.load(file: path)
        let report = write(bytes, name: "report.json")
        _ = try? ReportReader.load(file: report)
    }
}
