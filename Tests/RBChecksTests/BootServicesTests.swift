import RBChecks
import RBCore
import RBTestSupport
import Testing

/// The boot-service model on fixture roots in the four layouts cameras ship: BusyBox init,
/// sysvinit with runlevel links, systemd, and OpenWrt procd.
@Suite("Boot-time service model")
struct BootServicesTests {
    func model(_ files: [String: MemoryTree.Item]) -> [BootStart] {
        let tree = MemoryTree(items: files, hasMetadata: true)
        let context = CheckContext(target: ScanTarget(spec: "t", kind: .firmware, tree: tree, baseID: "T", baseURI: nil),
                                   limits: ScanLimits(), ruleID: "RB-IFC-001", sink: DiagnosticSink())
        return BootServices.of(context).starts
    }

    func summary(_ starts: [BootStart], _ programs: Set<String>) -> [String] {
        starts.filter { programs.contains($0.program) }
            .map { "\($0.program) \($0.via) \($0.path):\($0.line)" + ($0.condition != nil ? " ?" : "") }.sorted()
    }

    @Test("BusyBox: inittab → rcS → the S??* loop, start-stop-daemon and busybox applets unwrapped, && starts conditional, inetd, cron")
    func busybox() {
        let starts = model([
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n::respawn:/sbin/getty -L ttyS0 115200\nttyS1::respawn:-/bin/sh\n# ::respawn:/usr/sbin/telnetd\n"),
            "etc/init.d/rcS": .file("#!/bin/sh\nmount -a\nfor i in /etc/init.d/S??* ; do\n  [ -x $i ] && $i start\ndone\n/bin/busybox telnetd -l /bin/login &\n"),
            "etc/init.d/S50httpd": .file("#!/bin/sh\ncase \"$1\" in\n  start)\n    start-stop-daemon -S -b -x /usr/sbin/boa -- -c /etc/boa\n    ;;\nesac\n"),
            "etc/init.d/S60debug": .file("#!/bin/sh\n[ -f /mnt/mtd/debug ] && /usr/sbin/utelnetd -p 2323 &\n"),
            "etc/inetd.conf": .file("ftp stream tcp nowait root /bin/busybox ftpd -w /var\n#telnet stream tcp nowait root /usr/sbin/telnetd telnetd\n"),
            "etc/crontabs/root": .file("*/10 * * * * /usr/sbin/ntpd -q -p pool.ntp.org\n"),
        ])
        #expect(summary(starts, ["sh", "getty", "telnetd", "boa", "utelnetd", "ftpd", "ntpd", "mount"]) == [
            "boa script etc/init.d/S50httpd:4",
            "ftpd inetd etc/inetd.conf:1",
            "getty inittab etc/inittab:2",
            "mount script etc/init.d/rcS:2",
            "ntpd cron etc/crontabs/root:1 ?",
            "sh inittab etc/inittab:3",
            "telnetd script etc/init.d/rcS:6",
            "utelnetd script etc/init.d/S60debug:2 ?",
        ], "\(starts.map { "\($0.program) \($0.path):\($0.line)" })")
        let boa = starts.first { $0.program == "boa" }
        #expect(boa?.chain == ["etc/inittab", "etc/init.d/rcS", "etc/init.d/S50httpd"])
    }

    @Test("sysvinit: runlevel links into init.d, $DAEMON substituted, a disabled xinetd service left out")
    func sysvinit() {
        let starts = model([
            "etc/inittab": .file("id:3:initdefault:\nsi::sysinit:/etc/init.d/rcS\nl3:3:wait:/etc/init.d/rc 3\n"),
            "etc/init.d/rcS": .file("#!/bin/sh\nexit 0\n"),
            "etc/init.d/rc": .file("#!/bin/sh\nfor s in /etc/rc$1.d/S* ; do $s start ; done\n"),
            "etc/rc3.d/S20ssh": .link("../init.d/ssh"),
            "etc/init.d/ssh": .file("#!/bin/sh\nDAEMON=/usr/sbin/sshd\ncase \"$1\" in\nstart)\n  start-stop-daemon --start --exec $DAEMON -- -D\n  ;;\nesac\n"),
            "etc/xinetd.d/tftp": .file("service tftp\n{\n  disable = yes\n  server = /usr/sbin/in.tftpd\n}\n"),
            "etc/xinetd.d/telnet": .file("service telnet\n{\n  disable = no\n  server = /usr/sbin/in.telnetd\n}\n"),
        ])
        #expect(summary(starts, ["sshd", "in.tftpd", "in.telnetd"]) == ["in.telnetd xinetd etc/xinetd.d/telnet:1", "sshd script etc/init.d/ssh:5"],
                "\(starts.map { "\($0.program) \($0.path):\($0.line)" })")
    }

    @Test("systemd: only enabled units (linked from a .wants directory) start; ExecStart prefixes stripped")
    func systemd() {
        let starts = model([
            "etc/systemd/system/multi-user.target.wants/dropbear.service": .link("/lib/systemd/system/dropbear.service"),
            "lib/systemd/system/dropbear.service": .file("[Unit]\nDescription=SSH\n[Service]\nExecStart=-/usr/sbin/dropbear -F -R\n"),
            "lib/systemd/system/vsftpd.service": .file("[Service]\nExecStart=/usr/sbin/vsftpd\n"),
        ])
        #expect(summary(starts, ["dropbear", "vsftpd"]) == ["dropbear systemd lib/systemd/system/dropbear.service:4"])
    }

    @Test("OpenWrt procd: services enabled in /etc/rc.d give their procd command; disabled ones nothing")
    func procd() {
        let starts = model([
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS S boot\n::askconsole:/usr/libexec/login.sh\n"),
            "etc/init.d/rcS": .file("#!/bin/sh\nrun_scripts() {\n\tfor i in /etc/rc.d/$1*; do\n\t\t[ -x $i ] && $i $2 2>&1\n\tdone\n}\nrun_scripts \"$1\" \"$2\"\n"),
            "etc/rc.d/S19dropbear": .link("../init.d/dropbear"),
            "etc/init.d/dropbear": .file("#!/bin/sh /etc/rc.common\nSTART=19\nUSE_PROCD=1\nPROG=/usr/sbin/dropbear\nstart_service() {\n\tprocd_open_instance\n\tprocd_set_param command $PROG -F -P /var/run/dropbear.pid\n\tprocd_close_instance\n}\n"),
            "etc/init.d/miniupnpd": .file("#!/bin/sh /etc/rc.common\nUSE_PROCD=1\nstart_service() {\n\tprocd_set_param command /usr/sbin/miniupnpd -f /var/etc/miniupnpd.conf\n}\n"),
        ])
        #expect(summary(starts, ["dropbear", "miniupnpd"]) == ["dropbear procd etc/init.d/dropbear:7"], "\(starts.map { "\($0.program) \($0.path):\($0.line)" })")
    }
}

@Suite("Daemon privileges at boot")
struct DaemonPrivilegeTests {
    @Test("A root daemon is a review result when the image has no unprivileged account, a failure when it has one")
    func reviewWithoutAccounts() async throws {
        let script = "#!/bin/sh\n/usr/sbin/boa -c /etc/boa &\n"
        let (lonely, _) = try await run(DaemonPrivilegeCheck.self, "{}", files: [
            "etc/passwd": .file("root:x:0:0::/root:/bin/sh\n"), "etc/init.d/rcS": .file(script)])
        #expect(lonely.map(\.status) == [.review])
        let (shared, _) = try await run(DaemonPrivilegeCheck.self, "{}", files: [
            "etc/passwd": .file("root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"), "etc/init.d/rcS": .file(script)])
        #expect(shared.map(\.status) == [.fail])
        #expect(shared.first?.location.line == 2)
    }
}

@Suite("Cleartext web servers at boot (RB-DAT-001 firmware side)")
struct CleartextWebTests {
    @Test("nginx: a server block listening without ssl and not redirecting fails at its listen line; a redirecting one passes")
    func nginx() async throws {
        let rcS = "#!/bin/sh\nnginx -c /etc/nginx/nginx.conf\n"
        let plain = "events {}\nhttp {\n  include conf.d/*.conf;\n}\n"
        let site = "server {\n  listen 80;\n  root /www;\n}\nserver {\n  listen 443 ssl;\n}\n"
        let (failing, _) = try await run(CleartextWebCheck.self, "{}", files: [
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n"), "etc/init.d/rcS": .file(rcS),
            "etc/nginx/nginx.conf": .file(plain), "etc/nginx/conf.d/site.conf": .file(site)])
        #expect(failing.map(\.location) == [Location(path: "etc/nginx/conf.d/site.conf", line: 2)])
        let redirecting = "server {\n  listen 80;\n  return 301 https://$host$request_uri;\n}\nserver {\n  listen 443 ssl;\n}\n"
        let (passing, _) = try await run(CleartextWebCheck.self, "{}", files: [
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n"), "etc/init.d/rcS": .file(rcS),
            "etc/nginx/nginx.conf": .file(plain), "etc/nginx/conf.d/site.conf": .file(redirecting)])
        #expect(passing.isEmpty)
    }

    @Test("Boa and GoAhead fail (no TLS / an http:// endpoint), mini_httpd -S and GoAhead on https:// pass, a non-BusyBox httpd is for review")
    func servers() async throws {
        let rcS = """
            #!/bin/sh
            boa -c /etc/boa
            goahead --home /etc/goahead http://*:8080 /web
            mini_httpd -S -p 443 -d /www
            goahead https://*:443 /web
            /usr/sbin/httpd -k start
            """
        let (observations, diagnostics) = try await run(CleartextWebCheck.self, "{}", files: [
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n"), "etc/init.d/rcS": .file(rcS + "\n"),
            "etc/boa/boa.conf": .file("# Boa\nPort 80\nUser nobody\n"),
            "usr/sbin/httpd": .file("\u{7f}ELF apache")])
        #expect(diagnostics.isEmpty)
        #expect(observations.map { "\($0.status) \($0.location.path):\($0.location.line ?? 0)" } == [
            "fail etc/boa/boa.conf:2", "fail etc/init.d/rcS:3", "review etc/init.d/rcS:6"])
    }
}
