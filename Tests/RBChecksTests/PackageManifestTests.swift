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

@Suite("Update handlers and channels (RB-PKG-001, RB-PKG-002)")
struct UpdateTests {
    @Test("ELF updaters: verify import and embedded key pass, otherwise review; a verification two sourced scripts deep counts")
    func handlers() async throws {
        let elf: (String) -> MemoryTree.Item = { MemoryTree.Item(content: [0x7f, 0x45, 0x4c, 0x46, 0, 0] + Array($0.utf8) + [0]) }
        let (observations, diagnostics) = try await run(UpdateHandlerCheck.self, "{}", files: [
            "usr/bin/fwupgrade": elf("EVP_DigestVerifyFinal\u{0}-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"),
            "usr/bin/ota_update": elf("EVP_DigestVerifyFinal"),
            "usr/sbin/update-alternatives": elf("nothing to do with firmware"),
            "lib/upgrade/keys.sh": .file("check_sig() { openssl dgst -sha256 -verify /etc/fw.pub -signature \"$1.sig\" \"$1\"; }\n"),
            "lib/upgrade/common.sh": .file(". /lib/upgrade/keys.sh\n"),
            "sbin/sysupgrade": .file("#!/bin/sh\n. /lib/upgrade/common.sh\ncheck_sig /tmp/fw || exit 1\nmtd write /tmp/fw firmware\n"),
            "sbin/recovery": .file("#!/bin/sh\nflashcp -v /tmp/fw /dev/mtd3\n. /lib/upgrade/common.sh\n"),
        ])
        #expect(diagnostics.isEmpty)
        #expect(observations.map { "\($0.status) \($0.location.path):\($0.location.line ?? 0)" }.sorted() == [
            "fail sbin/recovery:2",          // the verification is sourced after the write
            "review usr/bin/ota_update:0",   // imports a verify function, embeds no key
        ])
    }

    @Test("Channels: URLs in program strings found around '://' across a large binary; https with -k fails; loopback and prose do not count")
    func channels() async throws {
        var binary: [UInt8] = [0x7f, 0x45, 0x4c, 0x46] + [UInt8](repeating: 0, count: 3 << 20)
        binary += Array("fw_update_url\u{0}http://upd.example-cam.com/fw\u{0}".utf8) + [0, 0]
        let (observations, _) = try await run(UpdateChannelCheck.self, "{}", files: [
            "usr/bin/camd": MemoryTree.Item(content: binary),
            "etc/ota.conf": .file("# updated daily, see http://docs.example-cam.com/notes\nota_server = tftp://10.0.0.9/fw.bin\nlocal_update=http://localhost/fw\n"),
            "usr/sbin/upgrade.sh": .file("#!/bin/sh\nwget --no-check-certificate https://upd.example-cam.com/fw.bin -O /tmp/fw\nsysupgrade /tmp/fw\n"),
        ])
        #expect(observations.map { "\($0.location.path):\($0.location.line ?? 0) \($0.evidence.facts["scheme"] ?? "")" }.sorted() == [
            "etc/ota.conf:2 tftp", "usr/bin/camd:0 http", "usr/sbin/upgrade.sh:2 https",
        ])
    }
}

@Suite("Component inventory and end of life (RB-PKG-004)")
struct ComponentInventoryTests {
    /// The first line of a command's output (the host tools' own idea of their versions).
    func output(_ command: String) throws -> String {
        try ImageFixtures.sh(command + " 2>&1 | head -n1", in: "/tmp").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("Real binaries of this machine give the versions their own tools print; package databases and the module directory too; EOL by source")
    func realBinaries() async throws {
        func bytes(_ path: String) throws -> MemoryTree.Item { MemoryTree.Item(content: Array(try Data(contentsOf: URL(fileURLWithPath: path)))) }
        let libdir = "/usr/lib/x86_64-linux-gnu"
        let files: [String: MemoryTree.Item] = [
            "bin/busybox": try bytes("/bin/busybox"),
            "usr/lib/libssl.so.3": try bytes(libdir + "/libssl.so.3"),
            "usr/lib/libcrypto.so.3": try bytes(libdir + "/libcrypto.so.3"),
            "usr/sbin/dropbear": try bytes("/usr/sbin/dropbear"),
            "usr/sbin/sshd": try bytes("/usr/sbin/sshd"),
            "usr/lib/libsqlite3.so.0": try bytes(libdir + "/libsqlite3.so.0"),
            "lib/libc.so.6": try bytes(libdir + "/libc.so.6"),
            "lib/ld-musl-x86_64.so.1": try bytes("/lib/ld-musl-x86_64.so.1"),
            "lib/modules/4.9.84/modules.dep": .file("\n"),
            "usr/lib/opkg/status": .file("Package: uhttpd\nVersion: 2023-06-25-34a8a74d-2\nStatus: install user installed\n\nPackage: gone\nVersion: 1\nStatus: deinstall ok not-installed\n\n"),
        ]
        let tree = MemoryTree(items: files)
        let context = CheckContext(target: ScanTarget(spec: "t", kind: .firmware, tree: tree, baseID: "T", baseURI: nil),
                                   limits: ScanLimits(), ruleID: "T", sink: DiagnosticSink())
        let found = Dictionary(ComponentInventory.of(context).components.map { ($0.name, $0.version) }, uniquingKeysWith: { a, _ in a })
        let busybox = try output("busybox")            // BusyBox v1.35.0 (Debian …)
        let openssl = try output("openssl version")    // OpenSSL 3.0.19 27 Jan 2026 …
        let dropbear = try output("dropbear -V")       // Dropbear v2022.83
        let ssh = try output("ssh -V")                 // OpenSSH_9.2p1 Debian…
        let glibc = try output("ldd --version")        // ldd (Debian GLIBC 2.36-9…) 2.36
        #expect(busybox.contains("v" + (found["busybox"] ?? "?") + " "), "\(found)")
        #expect(openssl.hasPrefix("OpenSSL " + (found["openssl"] ?? "?") + " "), "\(found)")
        #expect(dropbear.hasSuffix("v" + (found["dropbear"] ?? "?")), "\(found)")
        #expect(ssh.hasPrefix("OpenSSH_" + (found["openssh"] ?? "?")), "\(found)")
        #expect(glibc.hasSuffix(" " + (found["glibc"] ?? "?")), "\(found)")
        let sqlite = try output("python3 -c 'import sqlite3; print(sqlite3.sqlite_version)'")
        #expect(found["sqlite"] == sqlite, "\(found)")
        #expect(found["linux"] == "4.9.84")
        let musl = try output("dpkg-query -W -f '${Version}' musl")   // 1.2.3-1
        #expect(musl.hasPrefix((found["musl"] ?? "?") + "-"), "\(found)")
        #expect(found["uhttpd"] == "2023-06-25-34a8a74d-2")
        #expect(found["gone"] == nil)

        let (observations, _) = try await run(EndOfLifeCheck.self, """
            {branches: [{component: openssl, versions: '^3\\.0\\.', ended: "2026-09-07"}, {component: linux, versions: '^4\\.9\\.', ended: "2023-01-07"}]}
            """, files: files.merging(["var/lib/dpkg/status": .file("Package: libssl3\nStatus: install ok installed\nVersion: 3.0.17-1~deb12u2\n\n")]) { a, _ in a })
        #expect(observations.map { "\($0.status) \($0.evidence.facts["component"] ?? "") \($0.evidence.facts["source"] ?? "")" }.sorted() == [
            "fail linux binary", "fail openssl binary", "review libssl3 dpkg",
        ])
    }
}

@Suite("Image signatures (RB-PKG-008)")
struct ImageSignatureTests {
    @Test("Each signature kind — RSA PKCS#1 v1.5, RSA-PSS, ECDSA, Ed25519 over the digest and over the image, CMS — verifies the signed image and fails the tampered one")
    func kinds() async throws {
        let keys = try TemporaryDirectory(prefix: "rbscan-sigkeys")
        defer { keys.remove() }
        _ = try ImageFixtures.sh("""
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
            openssl genpkey -algorithm ED25519 -out ed.pem
            for k in rsa ec ed; do openssl pkey -in $k.pem -pubout -out $k.pub; done
            openssl req -x509 -new -key rsa.pem -subj /CN=vendor -days 2 -out rsa.crt 2>/dev/null
            head -c 300000 /dev/urandom > fw.bin
            openssl dgst -sha256 -sign rsa.pem -out pkcs1.sig fw.bin
            openssl dgst -sha256 -sign rsa.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -out pss.sig fw.bin
            openssl dgst -sha256 -sign ec.pem -out ecdsa.sig fw.bin
            openssl dgst -sha256 -binary fw.bin > fw.sha256
            openssl pkeyutl -sign -inkey ed.pem -rawin -in fw.sha256 -out ed-digest.sig
            openssl pkeyutl -sign -inkey ed.pem -rawin -in fw.bin -out ed-image.sig
            openssl base64 -A -in ed-digest.sig > ed-digest.b64
            openssl cms -sign -binary -in fw.bin -signer rsa.crt -inkey rsa.pem -outform DER -out fw.p7s
            """, in: keys.path)
        func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: keys.url(name)))) }
        func text(_ name: String) throws -> String { try String(contentsOfFile: keys.url(name), encoding: .utf8) }
        let image = try bytes("fw.bin")
        var tampered = image
        tampered[150_000] ^= 0x01
        let cases: [(signature: String, suffix: String, key: String)] = [
            ("pkcs1.sig", ".sig", "rsa.pub"), ("pss.sig", ".sig", "rsa.pub"), ("ecdsa.sig", ".sig", "ec.pub"),
            ("ed-digest.sig", ".sig", "ed.pub"), ("ed-image.sig", ".sign", "ed.pub"), ("ed-digest.b64", ".signature", "ed.pub"),
            ("fw.p7s", ".p7s", "rsa.crt"),
        ]
        for (signature, suffix, key) in cases {
            let options = "{keys: [\"\(try text(key).replacingOccurrences(of: "\n", with: "\\n"))\"]}"
            for (content, expected) in [(image, 0), (tampered, 1)] {
                let (observations, diagnostics) = try await run(ImageSignatureCheck.self, options, files: [
                    "opt/update/fw.bin": MemoryTree.Item(content: content),
                    "opt/update/fw.bin" + suffix: MemoryTree.Item(content: try bytes(signature)),
                ])
                #expect(diagnostics.isEmpty)
                #expect(observations.count == expected, "\(signature) on \(expected == 0 ? "the signed" : "the tampered") image: \(observations.map(\.message))")
                #expect(observations.allSatisfy { $0.severity == .critical })
            }
        }
        // Signed by another key: fails.
        let other = "{keys: [\"\(try text("ec.pub").replacingOccurrences(of: "\n", with: "\\n"))\"]}"
        let (wrongKey, _) = try await run(ImageSignatureCheck.self, other, files: [
            "opt/update/fw.bin": MemoryTree.Item(content: image), "opt/update/fw.bin.sig": MemoryTree.Item(content: try bytes("pkcs1.sig"))])
        #expect(wrongKey.count == 1)
    }
}

@Suite("Update signing keys (RB-PKG-006)")
struct SigningKeyTests {
    @Test("A public key embedded in an updater program: its private half inside another binary fails critical; on knownKeys it fails high; no update key, no search")
    func embedded() async throws {
        let dir = try TemporaryDirectory(prefix: "rbscan-updkeys")
        defer { dir.remove() }
        _ = try ImageFixtures.sh("""
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem 2>/dev/null
            openssl pkey -in k.pem -pubout -out k.pub
            openssl pkey -pubin -in k.pub -outform DER | sha256sum | cut -d' ' -f1 > k.id
            """, in: dir.path)
        func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: dir.url(name)))) }
        let identity = try String(contentsOfFile: dir.url("k.id"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let updater = MemoryTree.Item(content: [0x7f, 0x45, 0x4c, 0x46, 0, 0] + (try bytes("k.pub")) + [0])
        let signer = MemoryTree.Item(content: [0x7f, 0x45, 0x4c, 0x46, 0, 0] + [UInt8](repeating: 0, count: 5000) + (try bytes("k.pem")) + [0])
        let (critical, _) = try await run(SigningKeyCheck.self, "{}", files: ["usr/bin/fwupgrade": updater, "usr/bin/signer": signer])
        #expect(critical.map { "\($0.severity?.rawValue ?? "rule") \($0.location.path)" } == ["critical usr/bin/signer"])
        let (known, _) = try await run(SigningKeyCheck.self, "{knownKeys: [\(identity)]}", files: ["usr/bin/fwupgrade": updater])
        #expect(known.map { "\($0.severity?.rawValue ?? "rule") \($0.location.path)" } == ["rule usr/bin/fwupgrade"])
        let (none, _) = try await run(SigningKeyCheck.self, "{knownKeys: [\(identity)]}", files: ["usr/bin/signer": signer])
        #expect(none.isEmpty)
    }

    @Test("OpenWrt's opkg key (usign/signify, made by signify-openbsd): its secret half in the image fails critical; another secret key does not")
    func usign() async throws {
        let dir = try TemporaryDirectory(prefix: "rbscan-usign")
        defer { dir.remove() }
        _ = try ImageFixtures.sh("""
            signify-openbsd -G -n -p build.pub -s build.sec -c "Local build key"
            signify-openbsd -G -n -p other.pub -s other.sec -c "other key"
            """, in: dir.path)
        func item(_ name: String) throws -> MemoryTree.Item { MemoryTree.Item(content: Array(try Data(contentsOf: URL(fileURLWithPath: dir.url(name))))) }
        let (shipped, _) = try await run(SigningKeyCheck.self, "{}", files: ["etc/opkg/keys/4ec812828ae08a4d": try item("build.pub"),
                                                                          "root/key-build": try item("build.sec")])
        #expect(shipped.map { "\($0.severity?.rawValue ?? "rule") \($0.location.path):\($0.location.line ?? 0)" } == ["critical root/key-build:2"],
                "\(shipped.map(\.message))")
        #expect(shipped.first?.message.contains("etc/opkg/keys/4ec812828ae08a4d") == true)
        let (other, _) = try await run(SigningKeyCheck.self, "{}", files: ["etc/opkg/keys/4ec812828ae08a4d": try item("build.pub"),
                                                                        "root/key-build": try item("other.sec")])
        #expect(other.isEmpty)
    }
}
