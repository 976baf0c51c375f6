import Foundation
import Testing
import RBCore
import RBScan
import RBTestSupport

/// `--allow-auth-tests` on SSH, telnet and FTP logins, against real servers on 127.0.0.1: an SSH
/// server that checks passwords (Paramiko), OpenSSH's sshd (no such account: refused), BusyBox
/// telnetd with a login program, and pyftpdlib.
@Suite("Default credentials on SSH, telnet and FTP", .serialized)
struct ServiceLoginTests {
    /// A profile whose default pairs are a wrong one, then the right one.
    func profile(_ directory: TemporaryDirectory, right: (String, String)) throws -> String {
        let file = directory.url("profile.yaml")
        try """
        version: 1
        profile: test-camera
        title: Test camera
        interfaces: []
        defaultCredentials: [{user: admin, password: "12345"}, {user: \(right.0), password: "\(right.1)"}]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test("SSH: the second default pair is accepted by a password-checking server and fails RB-PWD-001; sshd refuses both")
    func ssh() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-login")
        defer { directory.remove() }
        let weak = try SSHPasswordServer(user: "admin", password: "admin")
        defer { weak.stop() }
        let sshd = try SSHTestServer(.openssh, hostKeys: ["ed25519"])
        defer { sshd.stop() }
        var limits = ScanLimits()
        limits.allowAuthTests = true
        limits.profileFile = try profile(directory, right: ("admin", "admin"))
        let report = await ScanSession.run(ScanSession.Options(targets: [weak.uri, sshd.uri], ruleDirectories: [Repository.rules], limits: limits))
        let weakLogin = try #require(report.targets.first { $0.spec == weak.uri }?.ssh?.defaultLogin)
        #expect(weakLogin == LoginAttempts(attempts: 2, accepted: "admin", lockout: false))
        let sshdLogin = try #require(report.targets.first { $0.spec == sshd.uri }?.ssh?.defaultLogin)
        #expect(sshdLogin == LoginAttempts(attempts: 2, accepted: nil, lockout: false))
        #expect(report.findings.filter { $0.ruleID == "RB-PWD-001" }.map(\.location.path) == [weak.uri])
        #expect(report.diagnostics.contains { $0.code == "auth-tests.enabled" && $0.message.contains(weak.uri) })
    }

    @Test("Telnet and FTP of a swept host: accepted pairs fail RB-PWD-001; without --allow-auth-tests nothing is tried")
    func telnetAndFTP() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-login")
        defer { directory.remove() }
        let telnet = try TelnetLoginServer(user: "admin", password: "admin")
        defer { telnet.stop() }
        let ftp = try FTPTestServer(anonymous: false, users: [("admin", "admin")])
        defer { ftp.stop() }
        let refusing = try FTPTestServer(anonymous: false, users: [("admin", "Xk2-not-default")])
        defer { refusing.stop() }
        var limits = ScanLimits()
        limits.ports = [telnet.port, ftp.port, refusing.port]
        limits.profileFile = try profile(directory, right: ("admin", "admin"))
        let quiet = await ScanSession.run(ScanSession.Options(targets: ["127.0.0.1"], ruleDirectories: [Repository.rules], limits: limits))
        #expect(quiet.targets.first?.host?.ports.allSatisfy { $0.defaultLogin == nil } == true)
        #expect(quiet.findings.filter { $0.ruleID == "RB-PWD-001" }.isEmpty)

        limits.allowAuthTests = true
        let report = await ScanSession.run(ScanSession.Options(targets: ["127.0.0.1"], ruleDirectories: [Repository.rules], limits: limits))
        let ports = try #require(report.targets.first?.host?.ports)
        let logins = Dictionary(uniqueKeysWithValues: ports.map { ($0.port, $0.defaultLogin) })
        #expect(logins[telnet.port] == LoginAttempts(attempts: 2, accepted: "admin", lockout: false), "\(ports)")
        #expect(logins[ftp.port] == LoginAttempts(attempts: 2, accepted: "admin", lockout: false))
        #expect(logins[refusing.port] == LoginAttempts(attempts: 2, accepted: nil, lockout: false))
        #expect(Set(report.findings.filter { $0.ruleID == "RB-PWD-001" }.map(\.location.path))
                == ["telnet://127.0.0.1:\(telnet.port)", "ftp://127.0.0.1:\(ftp.port)"])
    }

    @Test("A lockout sign on one surface stops the attempts on every surface of the host")
    func lockoutStopsEverySurface() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-login")
        defer { directory.remove() }
        let ftp = try FTPTestServer(anonymous: false, users: [("admin", "admin")], locking: true)
        defer { ftp.stop() }
        try "/:admin:admin\n".write(toFile: directory.url("httpd.conf"), atomically: true, encoding: .utf8)
        try "<html>camera</html>\n".write(toFile: directory.url("index.html"), atomically: true, encoding: .utf8)
        let (httpd, httpPort) = try LoopbackProcess.launch("/bin/busybox") {
            ["httpd", "-f", "-p", "127.0.0.1:\($0)", "-h", directory.path, "-c", directory.url("httpd.conf")]
        }
        defer { httpd.stop() }
        var limits = ScanLimits()
        limits.ports = [ftp.port, httpPort]
        limits.allowAuthTests = true
        limits.profileFile = try profile(directory, right: ("admin", "admin"))
        let report = await ScanSession.run(ScanSession.Options(targets: ["127.0.0.1"], ruleDirectories: [Repository.rules], limits: limits))
        // The FTP logins (during the sweep) see "Account locked" on the first pair and stop; the
        // web login, which would accept admin/admin, is then not tried at all.
        let ftpLogin = try #require(report.targets.first?.host?.ports.first { $0.port == ftp.port }?.defaultLogin)
        #expect(ftpLogin == LoginAttempts(attempts: 1, accepted: nil, lockout: true))
        let web = try #require(report.targets.first { $0.spec == "http://127.0.0.1:\(httpPort)" }?.http)
        #expect(web.root.status == 401)
        #expect(web.defaultLogin == LoginAttempts(attempts: 0, accepted: nil, lockout: true))
        #expect(report.findings.filter { $0.ruleID == "RB-PWD-001" }.isEmpty)
    }
}
