import RBCore

/// `boot.service`: a program the image starts at boot (the boot-service model: inittab, init
/// scripts followed to depth 3, inetd/xinetd, enabled systemd units, OpenWrt procd, cron) whose
/// name matches `programs` (and, when given, whose command matches `arguments`). One result per
/// start, at the file and line that starts it, with how it was reached; a start under a
/// condition says so and gets `conditionalSeverity` when set.
public struct BootServiceCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Regular expressions matched against the program's base name (whole name).
        var programs: [String]
        /// A regular expression the whole command must match (e.g. `-l\s*/bin/sh`).
        var arguments: String?
        /// Where the start comes from (`inittab`, `script`, `inetd`, `xinetd`, `systemd`, `procd`, `cron`); default all.
        var via: [String]?
        var message: String?
        var conditionalSeverity: Severity?
        /// `absent` (default): each matching start is a finding. `present`: one finding when
        /// nothing matching starts at boot (a logging or time daemon that should run).
        var expect: Expect?
    }

    public enum Expect: String, Decodable, Sendable { case absent, present }

    public static let id = "boot.service"
    public static let summary = "Reports programs the image starts at boot (inittab, init scripts, inetd, systemd, procd, cron)."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let programs: [Regex]
    let arguments: Regex?
    let options: Options

    public init(options: Options) throws(CheckOptionError) {
        guard !options.programs.isEmpty else { throw CheckOptionError(key: "programs", "name at least one program pattern") }
        do {
            programs = try options.programs.map { try Regex("^(?:" + $0 + ")$") }
            arguments = try options.arguments.map { try Regex($0) }
        } catch {
            throw CheckOptionError(key: "programs", "\(error)")
        }
        let known: Set<String> = ["inittab", "script", "inetd", "xinetd", "systemd", "procd", "cron"]
        if let unknown = Set(options.via ?? []).subtracting(known).sorted().first {
            throw CheckOptionError(key: "via", "unknown source '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        self.options = options
    }

    /// Where an init system lives: BusyBox/sysvinit, OpenWrt, systemd, or an init program.
    static let initPaths = ["etc/inittab", "etc/init.d", "etc/rc.d", "etc/rcS", "etc/rc.local", "etc/systemd", "lib/systemd/system",
                            "usr/lib/systemd/system", "sbin/init", "init", "linuxrc", "bin/init", "sbin/procd", "etc/crontabs"]

    static func hasInitSystem(_ tree: any FileTree) -> Bool {
        initPaths.contains { tree.index.entry(at: $0) != nil }
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        let model = BootServices.of(context)
        var observations: [Observation] = []
        var seen = Set<String>()
        let matching = model.starts.filter { start in
            programs.contains(where: { $0.hasMatch(in: Array(start.program.utf8)) })
                && arguments.map({ $0.hasMatch(in: Array(start.command.utf8)) }) ?? true
                && options.via.map({ $0.contains(start.via) }) ?? true
        }
        if options.expect == .present {
            guard matching.isEmpty else { return [] }
            // No init system at all (a kernel's built-in initramfs beside the root filesystem):
            // nothing starts here, and nothing is missing either.
            if model.starts.isEmpty, let tree = context.tree, !BootServiceCheck.hasInitSystem(tree) {
                return [Observation(status: .notApplicable,
                                    message: "no init system in this filesystem (no inittab, init scripts, systemd units or init program)",
                                    location: Location(path: "."), evidence: Evidence(key: "no-init"))]
            }
            let sources = Set(model.starts.map(\.path)).count
            return [Observation(message: Template.render(options.message ?? "nothing matching {programs} is started at boot",
                                                         ["programs": options.programs.joined(separator: ", ")])
                                    + " (\(model.starts.count) boot command(s) read from \(sources) file(s))",
                                location: Location(path: "etc/inittab"),
                                evidence: Evidence(key: "absent:" + options.programs.joined(separator: ","),
                                                   facts: ["bootCommands": String(model.starts.count)]))]
        }
        for start in matching {
            guard seen.insert("\(start.path):\(start.line):\(start.program)").inserted else { continue }
            var message = Template.render(options.message ?? "{program} is started at boot: {command}",
                                          ["program": start.program, "command": start.command, "via": start.via, "path": start.path])
            if let condition = start.condition { message += " (conditional: \(condition))" }
            var facts = ["program": start.program, "via": start.via, "chain": start.chain.joined(separator: " → ")]
            if let condition = start.condition { facts["condition"] = condition }
            observations.append(Observation(severity: start.condition != nil ? options.conditionalSeverity : nil, message: message,
                                            location: Location(path: start.path, line: start.line),
                                            evidence: Evidence(key: start.program + "@" + start.via, snippet: Snippet.make(start.command), facts: facts)))
        }
        return observations
    }
}
