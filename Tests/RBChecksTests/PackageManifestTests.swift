import Foundation
import RBChecks
import RBCore
import RBTestSupport
import Testing

/// RB-PKG-007 on real manifests made in the test by md5sum / sha256sum over a directory tree in
/// dpkg, opkg and plain layouts, with a merged-/usr link, a diversion and a file larger than a
/// read piece.
@Suite("Package manifests (RB-PKG-007)")
struct PackageManifestTests {
    @Test("dpkg md5sums, status conffiles and diversions; opkg conffiles and lists; SHA256SUMS: exactly the changed and missing files")
    func layouts() async throws {
        let root = try TemporaryDirectory(prefix: "rbscan-manifests")
        defer { root.remove() }
        var big = [UInt8](repeating: 0x41, count: (1 << 20) + 4099)
        big[0] = 0x7f
        try FixtureWriter.write([
            "bin": .symlink("usr/bin"),
            "usr/bin/camd": .file("#!/bin/sh\necho camd\n"),
            "usr/bin/sh.distrib": .file("#!/bin/sh\necho dash\n"),
            "usr/lib/libbig.so": .bytes(big),
            "usr/bin/gone": .file("x\n"),
            "etc/camd.conf": .file("level=1\n"),
            "etc/wifi.conf": .file("ssid=cam\n"),
            "usr/lib/opkg/info/wifid.list": .file("/usr/sbin/wifid\n/etc/wifi.conf\n/usr/share/wifid\n"),
            "usr/sbin/wifid": .file("#!/bin/sh\n"),
            "usr/share/wifid/README": .file("r\n"),
            "opt/app/bin/app": .file("#!/bin/sh\necho app\n"),
        ], into: root.path)
        // Manifests hashed from the pristine files, as the packaging system would have.
        _ = try ImageFixtures.sh("""
            mkdir -p var/lib/dpkg/info
            echo "$(md5sum < usr/bin/camd | cut -d' ' -f1)  bin/camd" > var/lib/dpkg/info/camd.md5sums
            echo "$(md5sum < usr/lib/libbig.so | cut -d' ' -f1)  usr/lib/libbig.so" >> var/lib/dpkg/info/camd.md5sums
            echo "$(md5sum < usr/bin/gone | cut -d' ' -f1)  usr/bin/gone" >> var/lib/dpkg/info/camd.md5sums
            echo "$(md5sum < usr/bin/sh.distrib | cut -d' ' -f1)  usr/bin/sh" > var/lib/dpkg/info/busybox.md5sums
            printf '/usr/bin/sh\\n/usr/bin/sh.distrib\\ndash\\n' > var/lib/dpkg/diversions
            printf 'Package: camd\\nStatus: install ok installed\\nConffiles:\\n /etc/camd.conf %s\\n /etc/old.conf 00000000000000000000000000000000 obsolete\\n\\n' \
              "$(md5sum < etc/camd.conf | cut -d' ' -f1)" > var/lib/dpkg/status
            printf 'Package: wifid\\nStatus: install ok installed\\nConffiles:\\n /etc/wifi.conf %s\\n\\n' \
              "$(sha256sum < etc/wifi.conf | cut -d' ' -f1)" > usr/lib/opkg/status
            (cd opt/app && sha256sum -b bin/app > SHA256SUMS)
            """, in: root.path)
        let tree = try DirectoryTree(directory: root.path)
        let (clean, cleanDiagnostics) = try await run(PackageManifestCheck.self, "{}", tree: tree)
        #expect(cleanDiagnostics.isEmpty, "\(cleanDiagnostics)")
        #expect(clean.isEmpty, "\(clean.map(\.message))")

        // Tamper: one byte of the large library (past the first read piece), a program, a
        // conffile of each packaging system; delete a listed file and an opkg-listed one.
        _ = try ImageFixtures.sh("""
            printf 'B' | dd of=usr/lib/libbig.so bs=1 seek=1050000 conv=notrunc 2>/dev/null
            echo 'echo hacked' >> opt/app/bin/app
            echo 'level=9' > etc/camd.conf
            echo 'ssid=open' > etc/wifi.conf
            rm usr/bin/gone usr/sbin/wifid
            """, in: root.path)
        let (observations, diagnostics) = try await run(PackageManifestCheck.self, "{}", tree: try DirectoryTree(directory: root.path))
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let got = observations.map { "\($0.location.path) \($0.severity?.rawValue ?? "rule") \($0.evidence.facts["package"] ?? "")" }.sorted()
        #expect(got == [
            "etc/camd.conf info camd",
            "etc/wifi.conf info wifid",
            "opt/app/bin/app rule SHA256SUMS",
            "usr/bin/gone medium camd",
            "usr/lib/libbig.so rule camd",
            "usr/sbin/wifid medium wifid",
        ], "\(got)")
        let library = try #require(observations.first { $0.location.path == "usr/lib/libbig.so" })
        #expect(library.evidence.facts["manifest"] == "var/lib/dpkg/info/camd.md5sums")
        #expect(library.evidence.facts["expected"] != library.evidence.facts["actual"])
    }
}
