import RBCore

/// `elf.hardening`: how the ELF executables in scope (the system and CGI directories, and every
/// program the boot-service model starts) were built (RB-SYS-002), read from their
/// own headers: NX (PT_GNU_STACK without PF_X; a missing PT_GNU_STACK means an executable stack),
/// PIE (ET_DYN with an interpreter, or DF_1_PIE), RELRO (PT_GNU_RELRO) and immediate binding
/// (BIND_NOW), stack canary (`__stack_chk_fail` / `__stack_chk_guard`) and FORTIFY (`__*_chk`
/// imports, judged only for glibc programs that import a fortifiable function). One result per
/// binary listing what is missing: NX missing is the rule's severity, the rest low; a static
/// binary cannot show its canary (libc's own `__stack_chk_fail` is linked in either way) and
/// gives a review result. Every result
/// carries the coverage (executables with every required property / executables judged).
public struct ELFHardeningCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        var exclude: [String]?
        /// Properties to judge (default all): nx, pie, relro, bindnow, canary, fortify.
        var require: [String]?
    }

    public static let id = "elf.hardening"
    public static let summary = "Judges NX, PIE, RELRO/BIND_NOW, stack canary and FORTIFY of ELF executables from their headers."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    static let properties = ["nx", "pie", "relro", "bindnow", "canary", "fortify"]
    /// glibc functions that have a `__*_chk` variant (the common ones; a program importing none
    /// of them gives FORTIFY nothing to do).
    static let fortifiable: Set<String> = [
        "memcpy", "memmove", "mempcpy", "memset", "strcpy", "stpcpy", "strncpy", "stpncpy", "strcat", "strncat",
        "sprintf", "vsprintf", "snprintf", "vsnprintf", "printf", "vprintf", "fprintf", "vfprintf", "dprintf", "vdprintf",
        "asprintf", "vasprintf", "gets", "fgets", "fgets_unlocked", "fread", "fread_unlocked", "read", "pread", "pread64",
        "readlink", "readlinkat", "getcwd", "getwd", "realpath", "recv", "recvfrom", "poll", "ppoll", "confstr",
        "getgroups", "ttyname_r", "getlogin_r", "gethostname", "getdomainname", "wcscpy", "wcsncpy", "wcscat", "wcsncat",
        "wmemcpy", "wmemmove", "wmemset", "swprintf", "vswprintf", "wprintf", "fwprintf", "mbstowcs", "wcstombs",
        "wcrtomb", "wctomb", "mbsrtowcs", "wcsrtombs", "syslog", "vsyslog", "fdelt", "longjmp", "explicit_bzero",
    ]

    let paths: [Glob]
    let exclude: [Glob]
    let required: Set<String>

    /// Parses every program and library it selects.
    public var costHint: Int { 40 }

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["bin/*", "sbin/*", "usr/bin/*", "usr/sbin/*", "usr/local/bin/*", "usr/local/sbin/*",
                                                           "**/cgi-bin/**", "opt/**"], key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? [], key: "exclude")
        let required = Set(options.require ?? Self.properties)
        if let unknown = required.subtracting(Self.properties).sorted().first {
            throw CheckOptionError(key: "require", "unknown property '\(unknown)' (known: \(Self.properties.joined(separator: ", ")))")
        }
        self.required = required
    }

    /// What one binary lacks (`nx`, `pie`, `relro`, `bindnow`, `canary`, `fortify`), what cannot
    /// be told from it, and the facts read.
    public struct Verdict: Sendable {
        public var missing: [String] = []
        public var unknown: [String] = []
        public var facts: [String: String] = [:]
    }

    /// The verdict on one file's bytes with every property required; nil when it is no ELF file.
    public static func judge(_ bytes: [UInt8]) -> Verdict? {
        ELFFile(bytes).map { judge($0, required: Set(properties)) }
    }

    static func judge(_ elf: ELFFile, required: Set<String>) -> Verdict {
        var verdict = Verdict()
        let glibc = elf.needed.contains { $0.hasPrefix("libc.so.6") } || (elf.interpreter ?? "").contains("ld-linux")
        let nx = elf.stackFlags.map { $0 & 1 == 0 } ?? false
        let pie = elf.kind == .shared && (elf.hasInterpreter || elf.pieFlag)
        // A static binary carries libc's own __stack_chk_fail whether or not the program was
        // built with a protector: its canary cannot be told (the catalog's MANUAL).
        let canary = elf.imports.contains("__stack_chk_fail") || elf.imports.contains("__stack_chk_guard")
        let chk = elf.imports.contains { $0.hasPrefix("__") && $0.hasSuffix("_chk") && $0 != "__stack_chk_fail" }
        let fortifiable = elf.imports.contains { Self.fortifiable.contains($0) }
        verdict.facts = ["nx": nx ? "yes" : (elf.stackFlags == nil ? "no (no PT_GNU_STACK)" : "no (executable stack)"),
                         "pie": pie ? "yes" : "no", "relro": elf.hasRelro ? (elf.bindNow ? "full" : "partial") : "no",
                         "bindnow": elf.isStatic ? "n/a" : (elf.bindNow ? "yes" : "no"),
                         "canary": elf.isStatic ? "unknown" : (canary ? "yes" : "no"), "fortify": chk ? "yes" : (fortifiable ? "no" : "n/a"),
                         "linking": elf.isStatic ? "static" : "dynamic", "class": elf.is64 ? "ELF64" : "ELF32",
                         "endian": elf.bigEndian ? "big" : "little", "machine": String(elf.machine)]
        if required.contains("nx"), !nx { verdict.missing.append("nx") }
        if required.contains("pie"), !pie { verdict.missing.append("pie") }
        if required.contains("relro"), !elf.hasRelro { verdict.missing.append("relro") }
        if required.contains("bindnow"), elf.isDynamic, !elf.bindNow { verdict.missing.append("bindnow") }
        if required.contains("canary"), !canary {
            if elf.isStatic { verdict.unknown.append("canary") } else { verdict.missing.append("canary") }
        }
        if required.contains("fortify"), !chk {
            if elf.isStatic || !glibc {
                // musl and uClibc fortify inline (no __*_chk symbols); a static file shows nothing.
                if !elf.isStatic, fortifiable { verdict.unknown.append("fortify") }
            } else if fortifiable {
                verdict.missing.append("fortify")
            }
        }
        return verdict
    }

    static let names = ["nx": "NX (non-executable stack)", "pie": "PIE", "relro": "RELRO", "bindnow": "BIND_NOW (full RELRO)",
                        "canary": "stack canary", "fortify": "FORTIFY_SOURCE"]

    /// The system and CGI directories, and every program the boot-service model starts.
    func scope(_ context: CheckContext) -> [FileEntry] {
        var files = Array(context.files(matching: paths, excluding: exclude))
        var inScope = Set(files.map(\.path))
        if let tree = context.tree {
            for start in BootServices.of(context).starts {
                guard let executable = start.executable, let file = tree.resolve(String(executable.drop { $0 == "/" })),
                      file.type == .file, inScope.insert(file.path).inserted else { continue }
                files.append(file)
            }
        }
        return files
    }

    /// An analysis result: the ELF facts of a file, or nil when it is no ELF file.
    struct Facts: Sendable {
        let elf: ELFFile?
    }

    static let analysis = ContentAnalysis(id: "elf-hardening") { bytes in
        Facts(elf: bytes.count >= 52 && ELFFile.isELF(bytes) ? ELFFile(bytes) : nil)
    }

    /// The read-ahead pass works out the ELF facts of every file in scope while it holds the
    /// file (for an image, while it is decompressed anyway), so the files are not read again.
    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware else { return ContentInterests() }
        guard let index = context.tree?.index else { return ContentInterests() }
        return ContentInterests(Self.analysis, positions: scope(context).filter { $0.size >= 52 }.compactMap { index.position(of: $0.path) })
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        var judged = 0, hardened = 0
        let analysed = context.analysis(Self.analysis.id)
        for file in scope(context) {
            guard file.size >= 52 else { continue }
            let parsed: ELFFile?
            if let facts = analysed(file) as? Facts {
                parsed = facts.elf
            } else {
                guard let content = context.read(file) else { continue }
                parsed = (Self.analysis.run(content.bytes) as? Facts)?.elf
            }
            guard let elf = parsed, elf.kind == .executable || (elf.kind == .shared && (elf.hasInterpreter || elf.pieFlag)) else { continue }
            judged += 1
            let verdict = Self.judge(elf, required: required)
            if verdict.missing.isEmpty && verdict.unknown.isEmpty { hardened += 1; continue }
            let evidence = Evidence(key: "elf:" + verdict.missing.joined(separator: ","), facts: verdict.facts)
            let unknown = verdict.unknown.map { Self.names[$0] ?? $0 }.joined(separator: ", ")
            if !verdict.missing.isEmpty {
                // A binary that fails anyway gets one result: what cannot be told is said in it,
                // not as a second (review) result nobody can act on.
                let severity: Severity? = verdict.missing.contains("nx") ? nil : .low
                observations.append(Observation(severity: severity,
                    message: "\(file.path) is built without \(verdict.missing.map { Self.names[$0] ?? $0 }.joined(separator: ", "))"
                        + (unknown.isEmpty ? "" : " (\(unknown) cannot be told from the file)"),
                    location: Location(path: file.path), evidence: evidence))
            } else if !verdict.unknown.isEmpty {
                observations.append(Observation(status: .review,
                    message: "\(file.path): \(unknown) cannot be told from the file (static without symbols, or a libc without __*_chk functions)",
                    location: Location(path: file.path), evidence: Evidence(key: "elf-unknown:" + verdict.unknown.joined(separator: ","), facts: verdict.facts)))
            }
        }
        // The coverage goes with every result: how many of the executables judged have every
        // property required.
        let coverage = judged == 0 ? "" : "\(hardened)/\(judged) (\(hardened * 100 / judged)%)"
        for i in observations.indices { observations[i].evidence.facts["coverage"] = coverage }
        return observations
    }
}
