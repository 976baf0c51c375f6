import RBCore

/// `accounts.preset-password`: accounts that ship with a usable password and an interactive
/// shell while the image starts a login surface at boot (telnetd, sshd, dropbear, an FTP server,
/// or getty/login on a console): a password every unit of the product shares.
public struct PresetPasswordCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Boot files searched for login surfaces.
        var paths: [String]?
        var shells: [String]?
    }

    public static let id = "accounts.preset-password"
    public static let summary = "Reports OS accounts with a preset password reachable through a login surface started at boot."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let paths: [Glob]
    let shells: Set<String>
    let source: AccountSource
    static let surfaces = try! Regex(#"(?<=^|[\s;&|/"'=:])(u?telnetd|sshd|dropbear|vsftpd|proftpd|pure-ftpd|u?ftpd|getty|agetty|mingetty|login)(?=[\s"';&|]|$)"#)

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["etc/inittab", "etc/init.d/*", "etc/rc.d/**", "etc/rc*.d/*", "etc/rcS*",
                                                            "etc/rc.local", "etc/inetd.conf", "**/systemd/system/*.service",
                                                            "**/systemd/system/*.socket"], key: "paths")
        shells = Set(options.shells ?? ["/bin/sh", "/bin/ash", "/bin/bash", "-sh", "/bin/hush", "/bin/zsh", "/bin/dash",
                                         "/usr/bin/bash", "/usr/bin/sh"])
        source = try AccountSource(extraFiles: nil)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var surfaces = Set<String>()
        for file in context.files(matching: paths) {
            guard var bytes = context.readUnlessBinary(file)?.bytes else { continue }
            CommentBlanker.blank(&bytes, markers: [Array("#".utf8)])
            for match in PresetPasswordCheck.surfaces.matches(in: bytes) {
                surfaces.insert(String(decoding: bytes[match.range], as: UTF8.self))
            }
        }
        guard !surfaces.isEmpty else { return [] }
        let shown = surfaces.sorted().joined(separator: ", ")
        return source.accounts(in: context).compactMap { account in
            guard account.hash.isUsable, let shell = account.shell, shells.contains(shell) else { return nil }
            return Observation(
                message: "account '\(account.name)' ships with a password and the shell \(shell), reachable through \(shown) started at boot",
                location: Location(path: account.passwordFile, line: account.passwordLine),
                evidence: Evidence(key: "preset:" + account.name, facts: ["account": account.name, "surfaces": shown]))
        }
    }
}
