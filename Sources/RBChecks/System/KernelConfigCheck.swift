import CZlib
import RBCore

/// `kernel.config`: the kernel's build configuration when the image lets it be recovered
/// (RB-SYS-006): `boot/config-*`, a `config.gz` (`/proc/config.gz` in an image dump), or the
/// IKCONFIG block (`IKCFG_ST` + gzip) inside a kernel image in the tree. `CONFIG_DEVMEM=y`
/// without `CONFIG_STRICT_DEVMEM=y` fails; loadable modules present (`*.ko`) without
/// `CONFIG_MODULE_SIG_FORCE=y` are low, as are modules without the `~Module signature
/// appended~` trailer. Without a recoverable configuration the result is not applicable.
public struct KernelConfigCheck: Check {
    public struct Options: Decodable, Sendable {}

    public static let id = "kernel.config"
    public static let summary = "Judges the recovered kernel configuration: strict /dev/mem, forced module signatures."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    public init(options: Options) throws(CheckOptionError) {}

    static let marker = Array("IKCFG_ST".utf8)
    static let signature = Array("~Module signature appended~\n".utf8)

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let (source, config) = Self.recover(context) else {
            return [Observation(status: .notApplicable, message: "no kernel configuration can be recovered from the image (boot/config-*, config.gz, IKCONFIG)",
                                location: Location(path: ""), evidence: Evidence(key: "no-kernel-config"))]
        }
        let settings = Self.parse(config)
        var observations: [Observation] = []
        func line(_ key: String) -> Int? { settings[key]?.line }
        if settings["CONFIG_DEVMEM"]?.value == "y", settings["CONFIG_STRICT_DEVMEM"]?.value != "y" {
            observations.append(Observation(message: "the kernel exposes /dev/mem without CONFIG_STRICT_DEVMEM (\(source))",
                                            location: Location(path: source, line: source.hasSuffix(".gz") || source.contains("IKCONFIG") ? nil : line("CONFIG_DEVMEM")),
                                            evidence: Evidence(key: "devmem", facts: ["source": source])))
        }
        let modulesGlob = try PathPatterns.compile(["lib/modules/**/*.ko", "**/*.ko"], key: "paths")
        let modules = context.files(matching: modulesGlob)
        if !modules.isEmpty, settings["CONFIG_MODULE_SIG_FORCE"]?.value != "y" {
            let unsigned = modules.filter { file in
                guard let content = context.read(file) else { return false }
                return !content.bytes.suffix(Self.signature.count).elementsEqual(Self.signature)
            }
            observations.append(Observation(severity: .low,
                message: "\(modules.count) loadable module(s) and no CONFIG_MODULE_SIG_FORCE (\(source)); \(unsigned.count) carry no signature",
                location: Location(path: source), evidence: Evidence(key: "module-signing",
                    facts: ["modules": String(modules.count), "unsigned": String(unsigned.count),
                            "examples": unsigned.prefix(3).map(\.path).joined(separator: ", ")])))
        }
        return observations
    }

    /// Where the configuration came from and its text.
    static func recover(_ context: CheckContext) -> (String, String)? {
        if let globs = try? PathPatterns.compile(["boot/config-*", "boot/config"], key: "paths"),
           let file = context.files(matching: globs).first, let text = context.readText(file), text.contains("CONFIG_") {
            return (file.path, text)
        }
        if let globs = try? PathPatterns.compile(["proc/config.gz", "**/config.gz"], key: "paths"),
           let file = context.files(matching: globs).first, let content = context.read(file), let text = gunzip(content.bytes) {
            return (file.path, String(decoding: text, as: UTF8.self))
        }
        if let globs = try? PathPatterns.compile(["boot/*", "**/vmlinux*", "**/zImage*", "**/uImage*", "**/Image*", "**/bzImage*"], key: "paths") {
            for file in context.files(matching: globs) where file.size < 64 << 20 {
                guard let content = context.read(file), let at = ByteSearch.firstIndex(of: marker, in: content.bytes),
                      let text = gunzip(Array(content.bytes[(at + marker.count)...])) else { continue }
                return (file.path + " (IKCONFIG)", String(decoding: text, as: UTF8.self))
            }
        }
        return nil
    }

    /// `CONFIG_X=value` lines (and `# CONFIG_X is not set`) → value and line.
    static func parse(_ text: String) -> [String: (value: String, line: Int)] {
        var settings: [String: (String, Int)] = [:]
        for (i, raw) in text.splitLines().enumerated() {
            let line = raw.trimmingWhitespace()
            if line.hasPrefix("CONFIG_"), let equals = line.firstIndex(of: "=") {
                settings[String(line[..<equals])] = (String(line[line.index(after: equals)...]), i + 1)
            } else if line.hasPrefix("# CONFIG_"), line.hasSuffix(" is not set") {
                settings[String(line.dropFirst(2).dropLast(11))] = ("n", i + 1)
            }
        }
        return settings
    }

    /// A gzip stream's content (at most 8 MiB), or nil.
    static func gunzip(_ input: [UInt8]) -> [UInt8]? {
        guard input.count > 18, input[0] == 0x1f, input[1] == 0x8b else { return nil }
        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var input = input
        let rc: Int32 = input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output += chunk.prefix(chunk.count - Int(stream.avail_out))
                if status != Z_OK || output.count > 8 << 20 { return status }
            }
        }
        return rc == Z_STREAM_END ? output : nil
    }
}
