import CZlib
import RBCore

/// `uboot.environment`: U-Boot environment blobs in the image (RB-IFC-004), found among files
/// whose name says env or mtd and validated by their CRC32 (plain: CRC + data; redundant: CRC +
/// flag byte + data; the environment size is the file's or a common CONFIG_ENV_SIZE). Per U-Boot's
/// autoboot: `bootdelay=-2` (no abort check) passes, `-1` (autoboot off) is low, `bootdelay>=0`
/// without `bootstopkey`/`bootstopkeysha256` fails unless the U-Boot binary in the image has a
/// compiled-in stop key (review when there is no binary to look at). `bootargs` with
/// `init=/bin/sh`, `rdinit=/bin/sh` or `single` fails too.
public struct UBootEnvironmentCheck: Check {
    public enum Judged: String, NamedValue, Sendable { case autoboot, bootargs }

    public struct Options: Decodable, Sendable {
        var paths: [String]?
        /// What is judged: `autoboot` (RB-IFC-004), `bootargs` (RB-IFC-003); default both.
        var report: [Judged]?
    }

    public static let id = "uboot.environment"
    public static let summary = "Validates U-Boot environment blobs (CRC32) and judges autoboot interruption and bootargs."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let paths: [Glob]
    let binaries: [Glob]
    let report: Set<Judged>

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["**/*{env,ENV,Env}*", "**/*mtd*", "**/*{uboot,u-boot}*.{bin,img}"], key: "paths")
        binaries = try PathPatterns.compile(["**/u-boot*", "**/uboot*"], key: "paths")
        report = Set(options.report ?? [.autoboot, .bootargs])
    }

    static let envSizes = [0x200, 0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x8000, 0x10000, 0x20000, 0x40000]

    /// The variables of a valid environment at the start of `bytes`, or nil.
    static func environment(_ bytes: [UInt8]) -> [String: String]? {
        for size in Set([bytes.count] + envSizes.filter { $0 <= bytes.count }).sorted() {
            for header in [4, 5] where size > header + 2 {
                let stored = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
                let computed = bytes.withUnsafeBufferPointer { buffer in
                    UInt32(crc32(0, buffer.baseAddress! + header, uInt(size - header)))
                }
                guard stored == computed, stored != 0 || bytes[header] != 0 else { continue }
                var variables: [String: String] = [:]
                var start = header
                while start < size, bytes[start] != 0 {
                    var end = start
                    while end < size, bytes[end] != 0 { end += 1 }
                    let pair = String(decoding: bytes[start..<end], as: UTF8.self)
                    if let equals = pair.firstIndex(of: "=") {
                        variables[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
                    }
                    start = end + 1
                }
                if !variables.isEmpty { return variables }
            }
        }
        return nil
    }

    /// `init=`/`rdinit=` naming a shell (`/bin/sh`, `/bin/ash`, `/bin/bash`, `/bin/hush`, `/bin/busybox`).
    static func shellInit(_ word: String) -> Bool {
        guard word.hasPrefix("init=") || word.hasPrefix("rdinit=") else { return false }
        let program = word.split(separator: "=", maxSplits: 1).last.map(String.init) ?? ""
        let name = program.split(separator: "/").last.map(String.init) ?? ""
        return ["sh", "ash", "bash", "hush", "busybox"].contains(name)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        var binaryHasStopKey: Bool?
        for file in context.files(matching: paths) where file.size >= 16 && file.size <= 4 << 20 {
            guard let content = context.read(file), let env = Self.environment(content.bytes) else { continue }
            let facts = ["bootdelay": env["bootdelay"] ?? "", "bootcmd": String((env["bootcmd"] ?? "").prefix(120))]
            if report.contains(.bootargs), let bootargs = env["bootargs"] {
                let words = bootargs.split(separator: " ").map(String.init)
                if words.contains(where: { Self.shellInit($0) || $0 == "single" }) {
                    observations.append(Observation(message: "U-Boot bootargs in \(file.path) boot straight into a shell: \(Snippet.make(bootargs))",
                                                    location: Location(path: file.path),
                                                    evidence: Evidence(key: "bootargs-shell", snippet: Snippet.make(bootargs), facts: facts)))
                }
            }
            guard report.contains(.autoboot) else { continue }
            let delay = Int(env["bootdelay"] ?? "") ?? 0      // U-Boot's CONFIG_BOOTDELAY when unset; assume interruptible
            if delay == -2 { continue }
            if delay == -1 {
                observations.append(Observation(severity: .low, message: "U-Boot autoboot is disabled (bootdelay=-1) in \(file.path): the console waits for commands",
                                                location: Location(path: file.path), evidence: Evidence(key: "bootdelay:-1", facts: facts)))
                continue
            }
            if env["bootstopkey"] != nil || env["bootstopkeysha256"] != nil || env["bootstopkey2"] != nil { continue }
            if binaryHasStopKey == nil {
                binaryHasStopKey = context.files(matching: binaries).compactMap { context.read($0) }.first.map { content in
                    ByteSearch.firstIndex(of: Array("bootstopkey".utf8), in: content.bytes) != nil
                        || ByteSearch.firstIndex(of: Array("autoboot_keyed".utf8), in: content.bytes) != nil
                }
            }
            let message = "U-Boot autoboot can be interrupted from the console (bootdelay=\(env["bootdelay"] ?? "unset"), no bootstopkey) in \(file.path)"
            switch binaryHasStopKey {
            case true?: continue
            case false?:
                observations.append(Observation(message: message, location: Location(path: file.path), evidence: Evidence(key: "autoboot-open", facts: facts)))
            case nil:
                observations.append(Observation(status: .review, message: message + "; no U-Boot binary in the image to look for a compiled-in stop key",
                                                location: Location(path: file.path), evidence: Evidence(key: "autoboot-open", facts: facts)))
            }
        }
        return observations
    }
}
