import Foundation
import RBCore
import RBCrypto
import RBTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// End-to-end: the real `rbscan` binary on real directories, checking exit codes and outputs.
@Suite("rbscan CLI", .serialized)
struct CLITests {
    let rbscan = Repository.rbscanBinary
    let example = Repository.root + "/Examples/camera-rootfs"

    func scan(_ arguments: [String], cwd: String? = nil) throws -> ProcessResult {
        try runProcess(rbscan, ["scan"] + arguments, currentDirectory: cwd)
    }

    /// A root filesystem with nothing wrong in it.
    func cleanRoot() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(prefix: "rbscan-clean")
        try FixtureWriter.write([
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\nttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n"),
            "etc/init.d/rcS": .file("#!/bin/sh\nsyslogd -R 192.0.2.10\nntpd -p pool.ntp.org\n/usr/sbin/dropbear -R\n", mode: 0o755),
            "etc/sysctl.conf": .file("kernel.randomize_va_space = 2\n"),
            "etc/passwd": .file("root:x:0:0:root:/root:/bin/sh\n"),
            "tmp": .directory(mode: 0o1777),
        ], into: dir.path)
        chmod(dir.url("tmp"), 0o1777)
        return dir
    }

    @Test func gateFollowsFailOn() throws {
        #expect(try scan([example, "--fail-on", "high"]).status == 1)
        #expect(try scan([example, "--fail-on", "critical"]).status == 1, "the example ships default passwords (critical)")
        #expect(try scan([example, "--fail-on", "never"]).status == 0)
        // Findings below the gate do not fail it: one medium finding (ASLR lowered).
        let root = try cleanRoot()
        defer { root.remove() }
        try FixtureWriter.write(["etc/sysctl.d/10-aslr.conf": .file("kernel.randomize_va_space = 1\n")], into: root.path)
        #expect(try scan([root.path, "--fail-on", "high"]).status == 0)
        #expect(try scan([root.path, "--fail-on", "medium"]).status == 1)
        let defaultGate = try scan([example])
        #expect(defaultGate.status == 1, "the default baseline gates at high")
        #expect(defaultGate.stdout.contains("RB-IFC-001"))
        #expect(defaultGate.stdout.contains("Gate FAILED"))
    }

    /// The rule cache changes nothing but the time: a scan with an empty cache, one with a warm
    /// cache (checks built on first use) and one with the cache off report the same results;
    /// `off` writes nothing.
    @Test func theRuleCacheChangesNoResult() throws {
        let dir = try TemporaryDirectory(prefix: "rbscan-cache")
        defer { dir.remove() }
        let config = example + "/etc/lighttpd/lighttpd.conf"
        func run(_ cache: String, _ name: String) throws -> [String] {
            let result = try runProcess(rbscan, ["scan", example, config, "--format", "json", "--output", dir.url(name), "--fail-on", "never"],
                                        environment: ["RBSCAN_CACHE_DIR": cache])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.url(name)))) as? [String: Any])
            let findings = try #require(report["findings"] as? [[String: Any]])
            return findings.map { "\($0["ruleId"] ?? "") \($0["status"] ?? "") \($0["severity"] ?? "") \($0["path"] ?? "") \($0["fingerprint"] ?? "") \($0["message"] ?? "")" }.sorted()
        }
        let cold = try run(dir.url("cache"), "cold.json")
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir.url("cache/yaml-v1"))
        #expect(entries.count >= 10, "the packs and adapters were not kept")
        let warm = try run(dir.url("cache"), "warm.json")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url("cache/yaml-v1")).sorted() == entries.sorted())
        let uncached = try run("off", "off.json")
        #expect(cold.count > 20)
        #expect(cold.contains { $0.hasPrefix("RB-PWD-") && $0.contains(" fail ") })
        #expect(warm == cold)
        #expect(uncached == cold)
        #expect(!FileManager.default.fileExists(atPath: dir.url("off")))
    }

    @Test func cleanRootPassesEvenAtLow() throws {
        let root = try cleanRoot()
        defer { root.remove() }
        let result = try scan([root.path, "--fail-on", "low"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("Summary: 0 failed"))
    }

    @Test("--format cyclonedx: the SBOM of a root holding real BusyBox, OpenSSL and Dropbear builds and a dpkg database lists exactly those, and validates")
    func sbomOfAFixtureRoot() throws {
        let root = try cleanRoot()
        defer { root.remove() }
        try FixtureWriter.write([
            "var/lib/dpkg/status": .file("Package: camd\nStatus: install ok installed\nVersion: 2.4.1-3\n\nPackage: old\nStatus: deinstall ok config-files\nVersion: 1\n\n"),
        ], into: root.path)
        _ = try ImageFixtures.sh("""
            mkdir -p bin usr/lib usr/sbin
            cp /bin/busybox bin/busybox
            cp /usr/lib/x86_64-linux-gnu/libcrypto.so.3 usr/lib/libcrypto.so.3
            cp /usr/sbin/dropbear usr/sbin/dropbear
            """, in: root.path)
        let bom = root.url("bom.cdx.json")
        let result = try scan([root.path, "--output", bom, "--fail-on", "never"])
        #expect(result.status == 0, "\(result.stderr)")
        let validation = try validateCycloneDX(bom)
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bom))) as? [String: Any])
        let names = (document["components"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }.sorted()
        #expect(names == ["busybox", "camd", "dropbear", "openssl"], "\(names)")
        let versions = try ImageFixtures.sh("busybox | head -n1; openssl version; dropbear -V 2>&1 | head -n1", in: "/tmp")
        for component in document["components"] as? [[String: Any]] ?? [] where component["name"] as? String != "camd" {
            #expect(versions.contains(component["version"] as? String ?? "?"), "\(component)")
        }
        let cpes = (document["components"] as? [[String: Any]] ?? []).compactMap { $0["cpe"] as? String }.map { $0.split(separator: ":").prefix(5).joined(separator: ":") }.sorted()
        #expect(cpes == ["cpe:2.3:a:busybox:busybox", "cpe:2.3:a:dropbear_ssh_project:dropbear_ssh", "cpe:2.3:a:openssl:openssl"], "\(cpes)")
        // A version string found in a file no package owns: the component carries the file's SHA-256.
        let busybox = try #require((document["components"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "busybox" })
        let hash = (busybox["hashes"] as? [[String: Any]])?.first
        let expected = try ImageFixtures.sh("sha256sum bin/busybox | cut -d' ' -f1", in: root.path).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash?["alg"] as? String == "SHA-256" && hash?["content"] as? String == expected, "\(busybox)")
    }

    /// The SBOM of a real Debian package database: this machine's own (the CI machine is Debian
    /// 12): its dpkg status, file lists, copyright files and os-release, and libc.so.6 under a
    /// merged /usr, copied into a root. Checked against dpkg-query on the same database.
    @Test("--format cyclonedx on the host's real dpkg database: one component per installed package (dpkg-query), qualifiers, dependencies, licences, glibc folded into libc6; valid")
    func sbomOfTheHostPackageDatabase() throws {
        let root = try cleanRoot()
        defer { root.remove() }
        _ = try ImageFixtures.sh("'\(Repository.root)/scripts/host-dpkg-root' '\(root.path)'")
        let bom = root.url("host.cdx.json")
        let result = try scan([root.path, "--output", bom, "--fail-on", "never"])
        #expect(result.status == 0, "\(result.stderr)")
        let validation = try validateCycloneDX(bom)
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bom))) as? [String: Any])
        let components = document["components"] as? [[String: Any]] ?? []
        func property(_ component: [String: Any], _ name: String) -> String? {
            (component["properties"] as? [[String: Any]] ?? []).first { $0["name"] as? String == name }?["value"] as? String
        }
        let packages = components.filter { property($0, "rbscan:source") == "dpkg" }
        // Exactly the installed packages dpkg-query lists, each once (name and architecture).
        let listed = try ImageFixtures.sh("dpkg-query --admindir=var/lib/dpkg -W -f '${db:Status-Status} ${Package} ${Architecture}\\n' | awk '$1 == \"installed\" {print $2, $3}' | sort",
                                          in: root.path).split(separator: "\n").map(String.init)
        let ours = packages.map { "\($0["name"] ?? "") \(URLComponents(string: $0["purl"] as? String ?? "")?.queryItems?.first { $0.name == "arch" }?.value ?? "-")" }.sorted()
        #expect(listed.count > 50)
        #expect(ours == listed, "\(Set(ours).symmetricDifference(listed).sorted().prefix(10))")
        #expect(Set(components.compactMap { $0["bom-ref"] as? String }).count == components.count, "duplicate bom-refs")
        // Package URLs carry arch, distro and (where the source differs) upstream; one
        // operating-system component names the distribution.
        let os = components.filter { $0["type"] as? String == "operating-system" }
        #expect(os.count == 1 && os.first?["name"] as? String == "debian", "\(os)")
        let distro = "debian-" + ((os.first?["version"] as? String) ?? "?")
        for package in packages {
            let purl = package["purl"] as? String ?? ""
            #expect(purl.hasPrefix("pkg:deb/debian/") && purl.contains("arch=") && purl.contains("distro=\(distro)"), "\(purl)")
        }
        // glibc's version string is folded into libc6, which owns libc.so.6: no second glibc.
        #expect(!components.contains { $0["name"] as? String == "glibc" })
        let libc6 = try #require(packages.first { $0["name"] as? String == "libc6" })
        #expect((libc6["purl"] as? String ?? "").contains("upstream=glibc"))
        #expect(property(libc6, "rbscan:detected")?.hasPrefix("glibc ") == true)
        #expect((libc6["cpe"] as? String ?? "").hasPrefix("cpe:2.3:a:gnu:glibc:"))
        // Dependencies: every edge joins two listed packages; libc6's are dpkg's own.
        let refs = Set(components.compactMap { $0["bom-ref"] as? String })
        // The image (the BOM's root) holds every component; the packages' own edges follow.
        let image = try #require((document["metadata"] as? [String: Any])?["component"] as? [String: Any])["bom-ref"] as? String
        let all = document["dependencies"] as? [[String: Any]] ?? []
        #expect(Set(all.first { $0["ref"] as? String == image }?["dependsOn"] as? [String] ?? []) == refs)
        let dependencies = all.filter { $0["ref"] as? String != image }
        #expect(dependencies.count > packages.count / 2)
        for entry in dependencies {
            #expect(refs.contains(entry["ref"] as? String ?? "") && (entry["dependsOn"] as? [String] ?? []).allSatisfy(refs.contains))
        }
        let libc6Ref = try #require(libc6["bom-ref"] as? String)
        let libc6Depends = try ImageFixtures.sh("dpkg-query --admindir=var/lib/dpkg -W -f '${Depends}' libc6", in: root.path)
        let dependsOn = (dependencies.first { $0["ref"] as? String == libc6Ref }?["dependsOn"] as? [String] ?? []).map { ref in String(ref.split(separator: "@")[0].split(separator: "/").last ?? "") }
        for name in libc6Depends.split(separator: ",").map({ String($0.trimmingCharacters(in: .whitespaces).prefix { !" (:".contains($0) }) }) {
            #expect(dependsOn.contains(name), "libc6 depends on \(name): \(dependsOn)")
        }
        // Licences from the copyright files, as SPDX identifiers where they map onto one: every
        // package with a machine-readable (DEP-5) copyright file has them.
        let machineReadable = Set(try ImageFixtures.sh("""
            for f in usr/share/doc/*/copyright; do
              if head -n1 "$f" | grep -q '^Format:.*copyright-format'; then basename "$(dirname "$f")"; fi
            done
            """, in: root.path).split(separator: "\n").map(String.init))
        let unlicensed = packages.filter { machineReadable.contains($0["name"] as? String ?? "") && ($0["licenses"] as? [Any])?.isEmpty != false }
        #expect(unlicensed.isEmpty, "\(unlicensed.compactMap { $0["name"] })")
        let libc6Licences: [String] = ((libc6["licenses"] as? [[String: Any]]) ?? []).compactMap { choice in
            (choice["license"] as? [String: Any]).flatMap { $0["id"] as? String }
        }
        if FileManager.default.fileExists(atPath: "/usr/share/doc/libc6/copyright") {
            #expect(libc6Licences.contains("LGPL-2.1-only"), "\(libc6Licences)")
        }
    }

    @Test("--signing-key: a signed squashfs image passes RB-PKG-008, the same image with one padding byte changed fails critical, an unsigned one high")
    func imageSignature() throws {
        let root = try cleanRoot()
        let work = try TemporaryDirectory(prefix: "rbscan-signed")
        defer { root.remove(); work.remove() }
        _ = try ImageFixtures.sh("""
            mksquashfs '\(root.path)' fw.sqsh -comp xz -noappend -quiet >/dev/null
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out vendor.pem 2>/dev/null
            openssl pkey -in vendor.pem -pubout -out vendor.pub
            openssl dgst -sha256 -sign vendor.pem -out fw.sqsh.sig fw.sqsh
            cp fw.sqsh unsigned.sqsh
            """, in: work.path)
        func pkg008(_ image: String) throws -> [String] {
            let result = try scan([work.url(image), "--signing-key", work.url("vendor.pub"), "--format", "json", "--fail-on", "never"])
            let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            return (document["findings"] as? [[String: Any]] ?? []).filter { $0["ruleId"] as? String == "RB-PKG-008" }
                .map { "\($0["status"] ?? "") \($0["severity"] ?? "")" }
        }
        #expect(try pkg008("fw.sqsh") == [])
        #expect(try pkg008("unsigned.sqsh") == ["fail high"])
        // The last byte is mksquashfs's 4 KiB padding: the filesystem still reads, the signature no longer verifies.
        _ = try ImageFixtures.sh("printf 'X' | dd of=fw.sqsh bs=1 seek=$(( $(stat -c %s fw.sqsh) - 1 )) conv=notrunc 2>/dev/null", in: work.path)
        #expect(try pkg008("fw.sqsh") == ["fail critical"])
    }

    @Test("A FIT image scanned directly: its mkimage signatures verify with --signing-key (RB-PKG-008 passes), a changed kernel byte fails critical, the unsigned build high; RB-PKG-005 asks for review without U-Boot's keys")
    func fitImage() throws {
        let work = try TemporaryDirectory(prefix: "rbscan-clifit")
        defer { work.remove() }
        _ = try ImageFixtures.sh(#"""
            set -e
            mkdir -p keys root/etc
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out keys/dev.key 2>/dev/null
            openssl req -batch -new -x509 -key keys/dev.key -out keys/dev.crt -subj /CN=dev 2>/dev/null
            head -c 4000 /dev/urandom > kernel.bin
            echo camera > root/etc/issue
            mksquashfs root rootfs.sqsh -noappend -quiet >/dev/null
            cat > fit.its <<'EOF'
            /dts-v1/;
            / { description = "camera"; #address-cells = <1>; images {
                  kernel-1 { data = /incbin/("kernel.bin"); type = "kernel"; arch = "arm"; os = "linux"; compression = "none";
                             hash-1 { algo = "sha256"; }; };
                  ramdisk-1 { data = /incbin/("rootfs.sqsh"); type = "ramdisk"; arch = "arm"; os = "linux"; compression = "none";
                              hash-1 { algo = "sha256"; }; }; };
                configurations { default = "conf-1"; conf-1 { kernel = "kernel-1"; ramdisk = "ramdisk-1";
                    signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; sign-images = "kernel", "ramdisk"; }; }; }; };
            EOF
            mkimage -f fit.its unsigned.itb >/dev/null
            mkimage -f fit.its -k keys fit.itb >/dev/null
            python3 -c "d=bytearray(open('fit.itb','rb').read()); k=open('kernel.bin','rb').read(); i=d.find(k); d[i+9]^=1; open('tampered.itb','wb').write(d)"
            """#, in: work.path)
        func results(_ image: String) throws -> [String] {
            let result = try scan([work.url(image), "--signing-key", work.url("keys/dev.crt"), "--format", "json", "--fail-on", "never"])
            #expect(result.status == 0, "\(result.stderr)")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            return (document["findings"] as? [[String: Any]] ?? []).filter { ["RB-PKG-005", "RB-PKG-008"].contains($0["ruleId"] as? String) }
                .map { "\($0["ruleId"] ?? "") \($0["status"] ?? "") \($0["severity"] ?? "")" }.sorted()
        }
        #expect(try results("fit.itb") == ["RB-PKG-005 review medium"])
        #expect(try results("tampered.itb") == ["RB-PKG-005 fail high", "RB-PKG-005 review medium", "RB-PKG-008 fail critical"])
        #expect(try results("unsigned.itb") == ["RB-PKG-005 fail medium", "RB-PKG-008 fail high"])
    }

    @Test("--vuln-db: a squashfs image of real builds against a generated OSV/KEV database gives exactly the expected RB-PKG-003 findings and fails the gate; broken data exits 2 naming the file and line")
    func offlineVulnerabilities() throws {
        let root = try TemporaryDirectory(prefix: "rbscan-vulncli")
        let work = try TemporaryDirectory(prefix: "rbscan-vulnclidb")
        defer { root.remove(); work.remove() }
        try FixtureWriter.write(VulnerabilityFixtures.packageFiles.mapValues { .file($0) }, into: root.path)
        _ = try ImageFixtures.sh(VulnerabilityFixtures.copyBinaries, in: root.path)
        try VulnerabilityFixtures.writeDatabase(into: work.url("db"))
        _ = try ImageFixtures.sh("mksquashfs '\(root.path)' fw.sqsh -comp xz -noappend -quiet >/dev/null", in: work.path)
        let result = try scan([work.url("fw.sqsh"), "--vuln-db", work.url("db"), "--format", "json", "--fail-on", "high"])
        #expect(result.status == 1, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let findings = (document["findings"] as? [[String: Any]] ?? []).filter { $0["ruleId"] as? String == "RB-PKG-003" }
        let failed = findings.filter { $0["status"] as? String == "fail" }
            .map { "\((($0["evidence"] as? [String: Any])?["facts"] as? [String: Any])?["advisory"] ?? "") \($0["severity"] ?? "")" }.sorted()
        #expect(failed == VulnerabilityFixtures.expected, "\(findings)")

        // The SBOM carries the matches as CycloneDX vulnerabilities, each pointing at its component, and validates.
        let bom = work.url("bom.cdx.json")
        #expect(try scan([work.url("fw.sqsh"), "--vuln-db", work.url("db"), "--output", bom, "--fail-on", "never"]).status == 0)
        let validation = try validateCycloneDX(bom)
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
        let sbom = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bom))) as? [String: Any])
        let refs = Set((sbom["components"] as? [[String: Any]] ?? []).compactMap { $0["bom-ref"] as? String })
        let vulnerabilities = sbom["vulnerabilities"] as? [[String: Any]] ?? []
        #expect(vulnerabilities.compactMap { $0["id"] as? String }.sorted() == VulnerabilityFixtures.expected.map { String($0.split(separator: " ")[0]) })
        for vulnerability in vulnerabilities {
            let affects = (vulnerability["affects"] as? [[String: Any]] ?? []).compactMap { $0["ref"] as? String }
            #expect(!affects.isEmpty && affects.allSatisfy(refs.contains), "\(vulnerability)")
        }

        // A record with a syntax error on line 3: exit 2, file and line named, nothing scanned.
        try FixtureWriter.write(["db/zz/broken.json": .file("{\n  \"id\": \"X\",\n  \"affected\": [,\n}\n")], into: work.path)
        let broken = try scan([work.url("fw.sqsh"), "--vuln-db", work.url("db")])
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("db/zz/broken.json:3"), "\(broken.stderr)")
    }

    @Test func malformedRulePackExitsTwoAndNamesFileAndLine() throws {
        let rules = try TemporaryDirectory(prefix: "rbscan-rules")
        defer { rules.remove() }
        try FixtureWriter.write(["broken.yaml": .file("""
            version: 1
            pack: broken
            title: Broken
            rules:
              - id: RB-SYS-100
                title: t
                category: SYS
                severity: high
                description: d
                remediation: r
                targets: [firmware]
                check: file.regex
                options: {paths: [etc/x], pattren: 'x'}

            """)], into: rules.path)
        let result = try scan([example, "--rules", rules.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains(rules.url("broken.yaml") + ":13:"), "\(result.stderr)")
        #expect(result.stderr.contains("pattren"))
        let lint = try runProcess(rbscan, ["rules", "lint", "--rules", rules.path])
        #expect(lint.status == 2)
        #expect(lint.stderr.contains("broken.yaml:13:"))
    }

    @Test func unreadableOrUnrecognisedTargetsExitTwo() throws {
        let missing = try scan(["/nonexistent/rootfs"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/rootfs"))
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        mkfifo(dir.url("fifo"), 0o600)
        #expect(try scan([dir.url("fifo")]).status == 2)
        // One good and one bad target: the good one is scanned; its failing gate decides (1), and
        // without one the missing target makes the run incomplete (3), never a pass.
        let mixed = try scan([example, "/nonexistent/x", "--format", "json", "--output", dir.url("r.json")])
        #expect(mixed.status == 1)
        #expect(try scan([example, "/nonexistent/x", "--fail-on", "never"]).status == 3)
        let json = try String(contentsOfFile: dir.url("r.json"), encoding: .utf8)
        #expect(json.contains("target.not-found"))
        #expect(json.contains("RB-IFC-001"))
    }

    /// A binary file is not a config file: images are opened, and a blob with no readable
    /// filesystem is refused (exit 2) saying so, never scanned as text and passed.
    @Test func imagesAreOpenedAndUnknownBlobsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tar = try runProcess("/usr/bin/env", ["tar", "-cf", dir.url("rootfs.tar"), "-C", example, "."])
        #expect(tar.status == 0)
        let result = try scan([dir.url("rootfs.tar"), "--format", "json"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("RB-IFC-001"))
        try Data([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2]).write(to: URL(fileURLWithPath: dir.url("blob.bin")))
        let blob = try scan([dir.url("blob.bin")])
        #expect(blob.status == 2)
        #expect(blob.stderr.contains("a binary file of unknown format: no known container or filesystem: an unsupported format, not encrypted"),
                "\(blob.stderr)")
        // A 0-byte target (a failed download) is exit 2, whatever the gate.
        try Data().write(to: URL(fileURLWithPath: dir.url("empty.bin")))
        let empty = try scan([dir.url("empty.bin"), "--fail-on", "low"])
        #expect(empty.status == 2)
        #expect(empty.stderr.contains("empty file: nothing to scan [target.empty]"), "\(empty.stderr)")
    }

    /// An image scan: locations stay image-relative, the container chain is in the artifacts,
    /// and the SARIF is valid.
    @Test func imageScanSARIF() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let made = try runProcess("/bin/sh", ["-c", "mksquashfs '\(example)' r.sqfs -comp gzip -noappend -quiet && mkimage -A arm -O linux -T filesystem -C none -n rootfs -d r.sqfs fw.bin >/dev/null"],
                                  currentDirectory: dir.path)
        #expect(made.status == 0, "\(made.stderr)")
        let result = try scan([dir.url("fw.bin"), "--format", "sarif", "--output", dir.url("r.sarif")])
        #expect(result.status == 1)
        let validation = try validate(dir.url("r.sarif"))
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
        let log = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.url("r.sarif")))) as? [String: Any]
        let run = try #require((log?["runs"] as? [[String: Any]])?.first)
        let artifacts = try #require(run["artifacts"] as? [[String: Any]])
        #expect(artifacts.count == 3)
        #expect(artifacts[1]["parentIndex"] as? Int == 0)
        #expect(artifacts[2]["parentIndex"] as? Int == 1)
        #expect(artifacts[2]["offset"] as? Int == 64)
        let uris = ((run["results"] as? [[String: Any]]) ?? []).compactMap {
            (($0["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any]).flatMap { ($0["artifactLocation"] as? [String: Any])?["uri"] as? String }
        }
        #expect(uris.contains("etc/inittab"))
        #expect(uris.allSatisfy { !$0.hasPrefix("/") })
    }

    @Test func checksThatCannotCompleteExitThree() throws {
        let root = try cleanRoot()
        defer { root.remove() }
        try FixtureWriter.write(["etc/config/device.json": .file("{\"telnetd\": {\"enabled\": true,\n")], into: root.path)
        let result = try scan([root.path, "--fail-on", "never"])
        #expect(result.status == 3)
        #expect(result.stdout.contains("etc/config/device.json"))
        #expect(result.stdout.contains("check.parse-error"))
    }

    /// Config files are judged by content: an encrypted `*.xml` (as Huawei ships
    /// defaultcfg.xml) and a text file named `.xml` are informational notices
    /// naming them, once each, and do not make the scan partial. In an image, XML that starts
    /// well and breaks is judged as libxml2 recovers it (a warning, exit 0); JSON that breaks
    /// makes the scan partial (exit 3).
    @Test func configFilesAreJudgedByContent() throws {
        let root = try cleanRoot()
        defer { root.remove() }
        var generator = SplitMix(seed: 11)
        let encrypted = (0..<4096).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        try FixtureWriter.write([
            "etc/defaultcfg.xml": .file(""),
            "etc/notes.xml": .file("this is not xml at all\n"),
        ], into: root.path)
        try Data(encrypted).write(to: URL(fileURLWithPath: root.path + "/etc/defaultcfg.xml"))
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try scan([root.path, "--fail-on", "never", "--format", "json", "--output", dir.url("r.json")])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.url("r.json")))) as? [String: Any]
        let diagnostics = (document?["diagnostics"] as? [[String: Any]]) ?? []
        let notes = diagnostics.filter { $0["code"] as? String == "check.not-a-config" }
        #expect(notes.allSatisfy { $0["level"] as? String == "note" })
        let locations = notes.compactMap { $0["location"] as? String }.map { String($0.split(separator: ":").last ?? "") }.sorted()
        #expect(locations == ["etc/defaultcfg.xml", "etc/notes.xml"], "\(notes)")
        #expect(notes.contains { ($0["message"] as? String)?.contains("etc/defaultcfg.xml is not XML (binary content, likely encrypted or compressed)") == true })
        #expect(!diagnostics.contains { $0["code"] as? String == "check.parse-error" })

        try FixtureWriter.write(["etc/config/broken.xml": .file("<config>\n<telnetd>\n</config>\n")], into: root.path)
        let recovered = try scan([root.path, "--fail-on", "never"])
        #expect(recovered.status == 0)
        #expect(recovered.stdout.contains("check.xml-recovered") && recovered.stdout.contains("etc/config/broken.xml"))
        try FixtureWriter.write(["etc/config/device.json": .file("{\"telnetd\": {\"enabled\": true,\n")], into: root.path)
        #expect(try scan([root.path, "--fail-on", "never"]).status == 3)
    }

    /// The command line helps: suggestions for misspelled subcommands, formats (any case) and rule
    /// IDs; unknown schemes named as such; reports to files leave stdout to the summary; each
    /// finding's fix in the text; completion for formats, paths and rule IDs; examples in --help;
    /// `rbscan version` with the commit and the packs (issue 18).
    @Test func commandLineHelps() throws {
        let typo = try runProcess(rbscan, ["scna", example])
        #expect(typo.status == 2 && typo.stderr.contains("did you mean 'scan'"), "\(typo.stderr)")
        let format = try scan([example, "--format", "SARF"])
        #expect(format.status == 2 && format.stderr.contains("did you mean 'sarif'"), "\(format.stderr)")
        let upper = try scan([example, "--format", "JSON", "--fail-on", "never"])
        #expect(upper.status == 0 && upper.stdout.hasPrefix("{"))
        let rule = try runProcess(rbscan, ["rules", "explain", "rb-sys-01"])
        #expect(rule.status == 2 && rule.stderr.contains("did you mean RB-SYS-001"), "\(rule.stderr)")
        #expect(try runProcess(rbscan, ["rules", "explain", "rb-sys-001"]).stdout.hasPrefix("RB-SYS-001: "))
        let scheme = try scan(["gopher-x://127.0.0.1:21"])
        #expect(scheme.status == 2 && scheme.stderr.contains("unsupported scheme gopher-x://"), "\(scheme.stderr)")
        // A report to a file: stdout is the summary (no finding lines), the verdict last.
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let toFile = try scan([example, "--format", "sarif", "--output", dir.url("r.sarif")])
        #expect(toFile.status == 1)
        #expect(!toFile.stdout.contains("RB-IFC-001") && toFile.stdout.contains("Summary:") && toFile.stdout.contains("Gate FAILED"), "\(toFile.stdout)")
        let text = try scan([example])
        #expect(text.stdout.contains("RB-IFC-001") && text.stdout.contains("fix: Remove the telnetd start-up"), "\(text.stdout)")
        // Completion: formats, paths, rule IDs (the custom completion asks the binary).
        let bash = try runProcess(rbscan, ["--generate-completion-script", "bash"])
        #expect(bash.stdout.contains("sarif-github") && bash.stdout.contains("---completion rules explain"))
        let ids = try runProcess(rbscan, ["---completion", "rules", "explain", "--", "positional@0", "3", "0", "rbscan", "rules", "explain", "RB"])
        #expect(ids.stdout.split(separator: "\n").contains("RB-IFC-001"), "\(ids.stdout)\(ids.stderr)")
        #expect(try runProcess(rbscan, ["scan", "--help"]).stdout.contains("Examples:"))
        let version = try runProcess(rbscan, ["version"])
        #expect(version.stdout.contains("commit:") && version.stdout.contains("pack:      interfaces") && version.stdout.contains("sha256:"), "\(version.stdout)")
        #expect(version.stdout.contains("rules:     rbscan \(RBScanVersion.current) (prefix RB, rbscan >=0.1, <0.2)"), "\(version.stdout)")
    }

    /// An organisation's own rule pack, namespaced (ACME-CAM-001), added with --rules beside the
    /// shipped packs: it loads, runs, gates, shows in SARIF and JSON, and `rules explain` knows it.
    @Test func namespacedRulePackRuns() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "acme/acme.yaml": .file("""
                version: 1
                pack: acme-camera
                title: ACME camera rules
                rules:
                  - id: ACME-CAM-001
                    title: No factory debug daemon
                    category: IFC
                    severity: high
                    description: ACME's factory debug daemon (acmedbgd) must not start in release images.
                    remediation: Remove acmedbgd from the init scripts of release builds.
                    check: file.regex
                    targets: [firmware]
                    options:
                      paths: [etc/init.d/*]
                      pattern: 'acmedbgd'
                      message: "the factory debug daemon starts in {path}"

                """),
            "root/etc/init.d/S99debug": .file("#!/bin/sh\n/usr/sbin/acmedbgd -p 9999 &\n", mode: 0o755),
        ], into: dir.path)
        let result = try scan([dir.url("root"), "--rules", Repository.root + "/Rules", "--rules", dir.url("acme"),
                               "--format", "json", "--output", dir.url("r.json"), "--format", "sarif", "--output", dir.url("r.sarif")])
        #expect(result.status == 1, "\(result.stderr)")
        let json = try String(contentsOfFile: dir.url("r.json"), encoding: .utf8)
        #expect(json.contains("\"ruleId\" : \"ACME-CAM-001\""), "\(result.stdout)")
        #expect(try validate(dir.url("r.sarif")).status == 0)
        let explain = try runProcess(rbscan, ["rules", "explain", "acme-cam-001", "--rules", Repository.root + "/Rules", "--rules", dir.url("acme")])
        #expect(explain.status == 0 && explain.stdout.hasPrefix("ACME-CAM-001: No factory debug daemon"), "\(explain.stderr)")
    }

    /// The exit-code precedence table of the README, one row at a time: configuration errors
    /// and "nothing could be scanned" are 2; a failed gate is 1 whatever else failed (and the
    /// text says both); one failed target among several, or a check that could not complete, is
    /// 3; else 0. (An unreachable device in a 500-device run made the whole run exit 2 before.)
    @Test func exitCodePrecedence() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clean = try cleanRoot()
        defer { clean.remove() }
        let unreachable = "tls://127.0.0.1:1"
        try FixtureWriter.write(["bad/rule.yaml": .file("rules:\n  - id: RB-SYS-999\n    title: [unclosed\n")], into: dir.path)
        try FixtureWriter.write(["etc/config/device.json": .file("{\"telnetd\": {\"enabled\": true,\n")], into: dir.url("broken"))

        // Invalid configuration: 2, even with gating findings.
        let invalid = try scan([example, "--rules", dir.url("bad")])
        #expect(invalid.status == 2, "\(invalid.stderr)")
        // Every target failed: 2.
        let nothing = try scan([unreachable])
        #expect(nothing.status == 2 && nothing.stderr.contains("target.unreachable"), "\(nothing.stderr)")
        // A failing gate and a failed target: 1, and the text says both.
        let both = try scan([example, unreachable])
        #expect(both.status == 1, "\(both.stderr)")
        #expect(both.stdout.contains("Gate FAILED") && both.stdout.contains("Scan INCOMPLETE as well") && both.stdout.contains("target.unreachable"))
        // One failed target of several, nothing gating in the rest: 3.
        let partial = try scan([clean.path, unreachable])
        #expect(partial.status == 3, "\(partial.stdout)")
        #expect(partial.stdout.contains("Scan INCOMPLETE") && partial.stdout.contains("target.unreachable"))
        // A check that could not complete: 3; with a failing gate as well: 1.
        #expect(try scan([dir.url("broken"), "--fail-on", "never"]).status == 3)
        #expect(try scan([dir.url("broken"), example]).status == 1)
        // Nothing wrong: 0.
        #expect(try scan([clean.path]).status == 0)
        // JSON and SARIF carry the same exit code.
        let json = try scan([clean.path, unreachable, "--format", "json"])
        #expect(json.status == 3 && json.stdout.contains("\"exitCode\" : 3"))
    }

    /// A 342-byte YAML alias bomb ("billion laughs": 9 levels of 9 aliases) used to abort
    /// rbscan at 12 GB; as a config target, in a root filesystem and inside a squashfs it is now
    /// refused in well under a second with a diagnostic naming it (exit 3: not examined). The
    /// variants libFuzzer found or that follow from it: the bomb used as a mapping **key** (Yams
    /// hashes every key in full while composing: 38 s before the document was measured on
    /// libyaml's events, `Tests/Fuzz/config/timeout-f4ce…`), and 600 nested brackets (Yams
    /// composes recursively; libyaml itself refuses more than 1,000 levels as a syntax error).
    @Test(arguments: ["values", "key", "nesting"])
    func yamlBombsAreRefused(variant: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var lines = ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
        for (previous, name) in zip("abcdefgh", "bcdefghi") {
            lines.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]")
        }
        let bomb: String
        let phrase: String
        switch variant {
        case "values":
            bomb = lines.joined(separator: "\n") + "\n"
            phrase = "alias bomb"
        case "key":
            lines.removeLast()
            bomb = (lines + ["i: { ? *h : password }"]).joined(separator: "\n") + "\n"
            phrase = "alias bomb"
        default:
            bomb = "password: " + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "\n"
            phrase = "nests collections more than"
        }
        try FileManager.default.createDirectory(atPath: dir.url("root/etc"), withIntermediateDirectories: true)
        try Data(bomb.utf8).write(to: URL(fileURLWithPath: dir.url("root/etc/app.yaml")))
        try Data(bomb.utf8).write(to: URL(fileURLWithPath: dir.url("app.yaml")))
        try ImageFixtures.sh("mksquashfs root bomb.sqfs -comp xz -noappend -quiet", in: dir.path)
        for target in [dir.url("app.yaml"), dir.url("root"), dir.url("bomb.sqfs")] {
            let start = ContinuousClock.now
            let result = try scan([target, "--fail-on", "never", "--format", "json"])
            #expect(ContinuousClock.now - start < .seconds(5))
            #expect(result.status == 3, "\(target): \(result.stderr)")
            #expect(result.stdout.contains("\"check.limit\"") && result.stdout.contains(phrase), "\(target)")
        }
    }

    /// Structured configs that cannot be examined are never a pass (issue 17, items 2 and 3): a
    /// malformed YAML config, as a target and inside a root, is exit 3 with a parse error naming
    /// the line; a 30 MB XML config is refused by the size limit at once, with a diagnostic; and
    /// an XML config under the limit is walked in linear time (80,000 elements took 7 s per rule
    /// through the XPath union before).
    @Test func unexaminedConfigsAreNeverAPass() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let broken = "server:\n  admin_password: \"abc\n  bad: [unclosed\n"
        try FixtureWriter.write(["etc/app.yaml": .file(broken), "etc/app.json": .file("{\"password\": \"x\",\n")], into: dir.url("root"))
        try Data(broken.utf8).write(to: URL(fileURLWithPath: dir.url("app.yaml")))
        for target in [dir.url("app.yaml"), dir.url("root")] {
            let result = try scan([target, "--fail-on", "never", "--format", "json"])
            #expect(result.status == 3, "\(target): \(result.stderr)")
            #expect(result.stdout.contains("check.parse-error") && result.stdout.contains("not valid YAML"), "\(target)")
        }
        // 30 MB of XML: refused at the limit, fast and small.
        var xml = "<config>\n"
        xml.reserveCapacity(31 << 20)
        var i = 0
        while xml.utf8.count < 30 << 20 {
            xml += "<item id=\"\(i)\"><v>\(i)</v></item>\n"
            i += 1
        }
        xml += "</config>\n"
        try Data(xml.utf8).write(to: URL(fileURLWithPath: dir.url("big.xml")))
        let start = ContinuousClock.now
        let big = try runProcess("/usr/bin/time", ["-f", "%M", rbscan, "scan", dir.url("big.xml"), "--fail-on", "never", "--format", "json"])
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(big.status == 3 && big.stdout.contains("check.limit") && big.stdout.contains("--max-config-size"), "\(big.stderr)")
        let peakKB = Int(big.stderr.split(separator: "\n").last.map(String.init) ?? "") ?? .max
        #expect(peakKB < 200 * 1024, "peak RSS \(peakKB) KB")
        // 6 MB (150,000 items) is under the limit: parsed and walked once per rule, in seconds.
        var small = "<config>\n"
        for j in 0..<150_000 { small += "<item id=\"\(j)\"><v>\(j)</v></item>\n" }
        small += "<admin_password>Gq7#pZ2vL9xQ</admin_password>\n</config>\n"
        try Data(small.utf8).write(to: URL(fileURLWithPath: dir.url("mid.xml")))
        let midStart = ContinuousClock.now
        let parsed = try scan([dir.url("mid.xml"), "--fail-on", "never", "--format", "json"])
        #expect(ContinuousClock.now - midStart < .seconds(10), "\(ContinuousClock.now - midStart)")
        #expect(parsed.stdout.contains("admin_password"), "the password at the end of 150,000 items is found")
    }

    /// When the temporary space for decompressed data runs out (here a 512 KiB file-size
    /// limit standing in for a full TMPDIR), what could not be examined is named with the
    /// spool's directory (image.spool), and the exit says so: 2 when the only filesystem was
    /// lost, 3 when an archive lost its members after the failing one.
    @Test func spoolFailuresAreNamed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            cp -r \(example) root && head -c 2097152 /dev/urandom > root/usr/blob && printf 'telnetd\\n' > root/zz-after
            mksquashfs root root.sqfs -noappend -quiet -comp xz && gzip -c root.sqfs > rootfs.sqfs.gz
            tar -czf root.tar.gz -C root .
            """, in: dir.path)
        func limited(_ target: String) throws -> ProcessResult {
            try runProcess("/bin/sh", ["-c", #"ulimit -f 512; exec "$RBSCAN" scan "$TARGET" --fail-on never --format json"#],
                           environment: ["RBSCAN": rbscan, "TARGET": dir.url(target), "PATH": "/usr/bin:/bin"])
        }
        let gz = try limited("rootfs.sqfs.gz")
        #expect(gz.status == 2, "\(gz.stderr)")
        #expect(gz.stderr.contains("[image.spool]") && gz.stderr.contains("temporary spool"), "\(gz.stderr)")
        let tar = try limited("root.tar.gz")
        #expect(tar.status == 3, "\(tar.stderr)")
        #expect(tar.stdout.contains("\"image.spool\"") && tar.stdout.contains("were not indexed"), "\(tar.stderr)")
        // Without the limit both scan in full.
        #expect(try scan([dir.url("rootfs.sqfs.gz"), "--fail-on", "never"]).status == 0)
    }

    /// The spool never fills the temporary file system: decompression stops with an
    /// image.spool diagnostic before less than --spool-reserve would be left free (default
    /// 256 MiB, at most 5 % of the file system), whatever --max-extracted allows; a bomb used to
    /// write up to the 8 GiB limit first. Here the reserve is set to all but 32 MiB of what is
    /// free, and 256 MiB of zeros behind gzip stop after at most that.
    @Test func spoolLeavesTheReserveFree() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("mkdir tmp && head -c 268435456 /dev/zero | gzip -1 > zeros.gz && head -c 8388608 /dev/zero | gzip -1 > small.gz", in: dir.path)
        var info = statvfs()
        #expect(statvfs(dir.url("tmp"), &info) == 0)
        let free = UInt64(info.f_bavail) * UInt64(info.f_frsize)
        let reserve = free - min(free, 32 << 20)
        let result = try runProcess(rbscan, ["scan", dir.url("zeros.gz"), "--spool-reserve", String(reserve), "--fail-on", "never"],
                                    environment: ["TMPDIR": dir.url("tmp"), "PATH": "/usr/bin:/bin"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("[image.spool]") && result.stderr.contains("--spool-reserve"), "\(result.stderr)")
        let written = result.stderr.firstMatch(of: /spool in \S+ after (\d+) bytes/).flatMap { UInt64($0.1) } ?? .max
        #expect(written <= 32 << 20, "\(result.stderr)")
        // With the default reserve a smaller stream is read in full.
        let full = try runProcess(rbscan, ["scan", dir.url("small.gz"), "--fail-on", "never", "--format", "json"],
                                  environment: ["TMPDIR": dir.url("tmp"), "PATH": "/usr/bin:/bin"])
        #expect(!full.stdout.contains("image.spool") && !full.stderr.contains("image.spool"), "\(full.stderr)")
    }

    /// Triage inputs are decoded field by field, not as a dictionary of everything: a 51 MB
    /// `--compare` report (93,000 findings) stays under 300 MB peak (it took 1.17 GB) in every
    /// large format, and its findings all come back as absent results.
    @Test func largeCompareReportIsBounded() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try scan([example, "--fail-on", "never", "--format", "json", "--output", dir.url("small.json")])
        #expect(first.status == 0)
        _ = try ImageFixtures.sh(#"""
            python3 - <<'PY'
            import json, copy
            d = json.load(open('small.json'))
            base, out, size, i = d['findings'], [], 0, 0
            while size < 51_000_000:
                g = copy.deepcopy(base[i % len(base)]); g['fingerprint'] = '%032x' % i; g['message'] += ' #%d' % i
                out.append(g); size += len(json.dumps(g, indent=4)); i += 1
            d['findings'] = out
            open('big.json', 'w').write(json.dumps(d, indent=2))
            print(len(out))
            PY
            """#, in: dir.path)
        let size = try FileManager.default.attributesOfItem(atPath: dir.url("big.json"))[.size] as? Int ?? 0
        #expect(size > 50_000_000)
        // Every format whose size grows with the findings: JSON, SARIF and HTML are written a
        // piece at a time (they took 383, 674 and 415 MB when rendered whole).
        for format in ["text", "json", "sarif", "html"] {
            let result = try runProcess("/usr/bin/time", ["-f", "%M", rbscan, "scan", example, "--compare", dir.url("big.json"), "--fail-on", "never",
                                                          "--format", format, "--output", dir.url("r." + format)])
            #expect(result.status == 0, "\(format): \(result.stderr)")
            let peakKB = Int(result.stderr.split(separator: "\n").last.map(String.init) ?? "") ?? .max
            #expect(peakKB < 300 * 1024, "\(format): peak RSS \(peakKB) KB")
        }
        // `merge` reads the same report back field by field (it took 918 MB as a dictionary).
        let merged = try runProcess("/usr/bin/time", ["-f", "%M", rbscan, "merge", dir.url("big.json"), "--fail-on", "never",
                                                      "--format", "json", "--output", dir.url("merged.json")])
        #expect(merged.status == 0, "merge: \(merged.stderr)")
        let mergePeakKB = Int(merged.stderr.split(separator: "\n").last.map(String.init) ?? "") ?? .max
        #expect(mergePeakKB < 300 * 1024, "merge: peak RSS \(mergePeakKB) KB")
        // The streamed JSON is whole: every finding of the compared report is back, as absent.
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.url("r.json")))) as? [String: Any]
        let findings = written?["findings"] as? [[String: Any]] ?? []
        #expect(findings.filter { $0["baselineState"] as? String == "absent" }.count > 70_000)
    }

    /// SIGTERM (and SIGINT) in the middle of a scan leaves no private temporary directory
    /// behind, and the process still ends by the signal.
    @Test func terminationRemovesThePrivateTemporaryDirectory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // 1 GiB of zeros behind gzip: seconds of decompressing into the spool.
        try ImageFixtures.sh("mkdir tmp && head -c 1073741824 /dev/zero | gzip -1 > zeros.gz", in: dir.path)
        for signal in [SIGTERM, SIGINT] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: rbscan)
            process.arguments = ["scan", dir.url("zeros.gz"), "--fail-on", "never", "--quiet"]
            process.environment = ["TMPDIR": dir.url("tmp"), "PATH": "/usr/bin:/bin"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait for the private directory to exist, then end the scan.
            let deadline = ContinuousClock.now + .seconds(20)
            while try FileManager.default.contentsOfDirectory(atPath: dir.url("tmp")).isEmpty, ContinuousClock.now < deadline {
                usleep(20_000)
            }
            #expect(try !FileManager.default.contentsOfDirectory(atPath: dir.url("tmp")).isEmpty, "no private directory appeared")
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == signal)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url("tmp")) == [], "signal \(signal) left a directory behind")
        }
    }

    /// `--max-nesting N` opens N nested containers (an archive member is a file, not a level:
    /// it opened N/2 tars), and the member left unopened at the limit is one diagnostic (exit 3),
    /// not silence and not one error per offset.
    @Test func maxNestingCountsContainers() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            mkdir l0 && printf '::respawn:/usr/sbin/telnetd\\n' > l0/inittab && prev=l0
            for i in 1 2 3 4 5 6; do mkdir l$i; tar -cf l$i/inner$i.tar -C $prev .; prev=l$i; done
            tar -cf top.tar -C l6 .
            """, in: dir.path)
        for (nesting, trees) in [(2, 2), (5, 5), (7, 7), (8, 7)] {
            let result = try scan([dir.url("top.tar"), "--max-nesting", String(nesting), "--fail-on", "never", "--format", "json"])
            let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect((document["targets"] as? [Any])?.count == trees, "--max-nesting \(nesting)")
            let limited = (document["diagnostics"] as? [[String: Any]] ?? []).filter { $0["code"] as? String == "image.nesting-limit" }
            #expect(limited.count == (trees < 7 ? 1 : 0), "--max-nesting \(nesting): \(limited)")
            #expect(result.status == (trees < 7 ? 3 : 0), "--max-nesting \(nesting)")
        }
    }

    /// Secrets quoted by rules (a command line, a URL) are masked in every report format by
    /// the one pass every finding goes through: a planted set of passwords on boot and update
    /// command lines appears in no SARIF, JSON, text, HTML, Markdown or JUnit output, while the
    /// findings themselves are still there.
    @Test func plantedSecretsAppearInNoReport() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let secrets = ["S3cretPassw0rd", "Hunter2Secret", "TopSecret123", "Xyzzy-Plugh-42"]
        try FixtureWriter.write([
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -F --password=Xyzzy-Plugh-42\n"),
            "etc/init.d/rcS": .file("#!/bin/sh\nwget --http-password=S3cretPassw0rd -O /tmp/fw.bin http://update.example.com/fw.bin\n"
                                    + "curl -k https://admin:Hunter2Secret@update.example.com/latest.bin -o /tmp/x\n"
                                    + "mysql -uroot -pTopSecret123 -e 'select 1'\n", mode: 0o755),
        ], into: dir.url("root"))
        var arguments = [dir.url("root"), "--fail-on", "never"]
        for format in ["sarif", "json", "html", "markdown", "junit"] {
            arguments += ["--format", format, "--output", dir.url("report." + format)]
        }
        let result = try scan(arguments + ["--format", "text"])
        #expect(result.status == 0, "\(result.stderr)")
        var outputs = ["text": result.stdout + result.stderr]
        for format in ["sarif", "json", "html", "markdown", "junit"] {
            outputs[format] = try String(contentsOfFile: dir.url("report." + format), encoding: .utf8)
        }
        for (format, text) in outputs {
            for secret in secrets {
                #expect(!text.contains(secret), "\(format) output holds the secret \(secret)")
            }
        }
        // No digest of a secret either (a word list reverses a plain SHA-256 or MD5), and no length.
        for secret in secrets {
            let digests = [Digest.sha256Hex(Array(secret.utf8)), try ImageFixtures.sh("printf %s '\(secret)' | md5sum | cut -c1-32")
                .trimmingCharacters(in: .whitespacesAndNewlines)]
            for (format, text) in outputs {
                for digest in digests { #expect(!text.contains(digest.prefix(12)), "\(format) output holds a digest of \(secret)") }
            }
        }
        #expect(!outputs["json"]!.contains("\"length\""))
        // The findings are still reported, with the secret masked.
        let json = try #require(outputs["json"])
        #expect(json.contains("RB-WEB-006") && json.contains("RB-IFC-001"))
        #expect(json.contains("admin:********"), "the URL keeps its user; the password is a fixed mask")
    }

    /// Credentials found by the credential search carry no plain digest: without a key their
    /// identity is their kind and rank; with --secret-key-file an HMAC that is the same across
    /// runs, while a different key gives a different one.
    @Test func credentialIdentitiesAreKeyedOrPlain() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let secret = "Gq7#pZ2vL9xQ"
        try FixtureWriter.write(["etc/config/mqtt.conf": .file("broker=mqtt.example.net\nmqtt_password=\(secret)\n")], into: dir.url("root"))
        try Data("first-key-of-the-fleet-0001".utf8).write(to: URL(fileURLWithPath: dir.url("key1")))
        try Data("another-key-entirely-0002".utf8).write(to: URL(fileURLWithPath: dir.url("key2")))
        func keys(_ extra: [String]) throws -> [String] {
            let result = try scan([dir.url("root"), "--fail-on", "never", "--format", "json"] + extra)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            return (document["findings"] as? [[String: Any]] ?? []).filter { $0["ruleId"] as? String == "RB-SEN-002" }
                .compactMap { ($0["evidence"] as? [String: Any])?["key"] as? String }
        }
        let plain = try keys([])
        #expect(plain.count == 1 && plain.allSatisfy { $0.hasPrefix("secret:") && $0.hasSuffix(":#1") }, "\(plain)")
        let keyed1 = try keys(["--secret-key-file", dir.url("key1")]), again = try keys(["--secret-key-file", dir.url("key1")])
        let keyed2 = try keys(["--secret-key-file", dir.url("key2")])
        #expect(!keyed1.isEmpty && keyed1 == again && keyed1 != keyed2, "\(keyed1) \(keyed2)")
        #expect(!keyed1.joined().contains(String(Digest.sha256Hex(Array(secret.utf8)).prefix(16))))
        // A key shorter than 16 bytes is refused.
        try Data("short".utf8).write(to: URL(fileURLWithPath: dir.url("key3")))
        #expect(try scan([dir.url("root"), "--secret-key-file", dir.url("key3")]).status == 2)
    }

    /// A report that cannot be written is never a silent success (issue 17, item 6): a device
    /// that refuses writes (`/dev/full`), a full or closed standard output and a file-size limit
    /// reached mid-report each give exit 2 with the reason and the scan's own result, and a
    /// regular report file is replaced whole or not at all (no truncated JSON left behind).
    @Test func reportWriteFailuresAreExit2() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        func sh(_ command: String) throws -> ProcessResult {
            try runProcess("/bin/sh", ["-c", command], environment: ["RBSCAN": rbscan, "ROOT": example, "PATH": "/usr/bin:/bin"],
                           currentDirectory: dir.path)
        }
        // The example fails the gate (exit 1); every write failure turns that into 2.
        let full = try scan([example, "--format", "json", "--output", "/dev/full"])
        #expect(full.status == 2, "\(full.stderr)")
        #expect(full.stderr.contains("cannot write /dev/full") && full.stderr.contains("gate failed"), "\(full.stderr)")
        let fullStdout = try sh(#""$RBSCAN" scan "$ROOT" --format json > /dev/full"#)
        #expect(fullStdout.status == 2 && fullStdout.stderr.contains("cannot write standard output"), "\(fullStdout.stderr)")
        let closedStdout = try sh(#""$RBSCAN" scan "$ROOT" --fail-on never >&-"#)
        #expect(closedStdout.status == 2 && closedStdout.stderr.contains("Bad file descriptor"), "\(closedStdout.stderr)")
        let closedVersion = try sh(#""$RBSCAN" --version >&-"#)
        #expect(closedVersion.status == 2)
        // 4 KiB file-size limit: the JSON report does not fit. The previous report stays whole
        // and no temporary file is left; the other report (SARIF to a fresh file) is attempted too.
        try Data("previous report\n".utf8).write(to: URL(fileURLWithPath: dir.url("r.json")))
        let limited = try sh(#"ulimit -f 4; "$RBSCAN" scan "$ROOT" --fail-on never --format json --output r.json --format text --output r.txt"#)
        #expect(limited.status == 2, "\(limited.stderr)")
        #expect(limited.stderr.contains("cannot write r.json"), "\(limited.stderr)")
        #expect(try String(contentsOfFile: dir.url("r.json"), encoding: .utf8) == "previous report\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".rbscan-tmp-") }.isEmpty)
        // Writing works again without the limit.
        let normal = try scan([example, "--fail-on", "never", "--format", "json", "--output", dir.url("r.json")])
        #expect(normal.status == 0)
        let rewritten = try String(contentsOfFile: dir.url("r.json"), encoding: .utf8)
        #expect(rewritten.hasPrefix("{"))
    }

    /// A hostile image cannot drive the terminal: control characters in file names and quoted
    /// lines reach text and Markdown reports escaped (`\e`, `\x07`), never raw.
    @Test func terminalEscapesAreShownEscaped() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let title = "\u{1B}]0;owned\u{07}", clear = "\u{1B}[2J"
        try FixtureWriter.write([
            "etc/inittab": .file("::respawn:/usr/sbin/telnetd -F \(clear)\n"),
            "usr/bin/x\(title)": .file("anyone may change me\n", mode: 0o777),
        ], into: dir.url("root"))
        chmod(dir.url("root") + "/usr/bin/x" + title, 0o777)
        let result = try scan([dir.url("root"), "--fail-on", "never", "--format", "markdown", "--output", dir.url("r.md"),
                               "--format", "text"])
        let markdown = try String(contentsOfFile: dir.url("r.md"), encoding: .utf8)
        for (name, text) in [("text", result.stdout), ("markdown", markdown)] {
            #expect(!text.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x07 }, "\(name) output holds a raw control character")
        }
        #expect(result.stdout.contains("usr/bin/x\\e]0;owned\\x07"), "\(result.stdout)")
        #expect(result.stdout.contains("\\e[2J"))
    }

    /// A CI job keeps its reports whatever the exit code: after exit 2 (nothing scannable, a
    /// broken waivers file, broken vulnerability data) and exit 3 every --output file exists,
    /// is valid, and holds the diagnostics.
    @Test func reportsAreWrittenOnEveryExitCode() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try cleanRoot()
        defer { root.remove() }
        try FixtureWriter.write(["etc/config/device.json": .file("{\"telnetd\": {\"enabled\": true,\n")], into: root.path)
        try Data([0, 1, 2, 3, 0xff, 0xfe]).write(to: URL(fileURLWithPath: dir.url("firmware.bin")))
        try Data("version: 1\nwaivers:\n  - rule: RB-IFC-001\n    bogus: 1\n".utf8).write(to: URL(fileURLWithPath: dir.url("waivers.yaml")))
        try FileManager.default.createDirectory(atPath: dir.url("vulndb"), withIntermediateDirectories: true)
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: dir.url("vulndb/bad.json")))
        let cases: [(String, [String], Int32, String)] = [
            ("unreadable", [dir.url("firmware.bin")], 2, "target.no-filesystem"),
            ("waivers", [root.path, "--waivers", dir.url("waivers.yaml")], 2, "waivers.yaml"),
            ("vulndb", [root.path, "--vuln-db", dir.url("vulndb")], 2, "bad.json"),
            ("partial", [root.path, "--fail-on", "never"], 3, "check.parse-error"),
        ]
        for (name, arguments, status, mention) in cases {
            let json = dir.url(name + ".json"), sarif = dir.url(name + ".sarif"), junit = dir.url(name + ".junit.xml")
            let result = try scan(arguments + ["--format", "json", "--output", json, "--format", "sarif", "--output", sarif,
                                               "--format", "junit", "--output", junit])
            #expect(result.status == status, "\(name): \(result.stderr)")
            for file in [json, sarif, junit] {
                let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                #expect(text.contains(mention), "\(name): \(file) does not mention \(mention)")
            }
            let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
            #expect((document?["diagnostics"] as? [Any])?.isEmpty == false, "\(name)")
            let validation = try validateSARIF(sarif)
            #expect(validation.status == 0, "\(name): \(validation.stdout)\(validation.stderr)")
            let log = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sarif))) as? [String: Any]
            let invocation = ((log?["runs"] as? [[String: Any]])?.first?["invocations"] as? [[String: Any]])?.first
            #expect(invocation?["executionSuccessful"] as? Bool == false, "\(name)")
        }
    }

    @Test func configFileTargetReportsTheLineInSARIF() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try scan([Repository.root + "/Examples/device.xml", "--format", "sarif", "--output", dir.url("r.sarif")])
        #expect(result.status == 1)
        let log = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.url("r.sarif")))) as? [String: Any]
        let results = ((log?["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]) ?? []
        let telnet = try #require(results.first { $0["ruleId"] as? String == "RB-IFC-001" })
        let physical = ((telnet["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
        #expect((physical?["artifactLocation"] as? [String: Any])?["uri"] as? String == "device.xml")
        #expect((physical?["region"] as? [String: Any])?["startLine"] as? Int == 8)
        #expect(result.stdout.contains("Gate FAILED"), "the text summary still goes to stdout")
    }

    @Test func severalFormatsInOneRunAndSchemaValidSARIF() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try scan([example, "--format", "sarif", "--output", dir.url("r.sarif"),
                               "--format", "json", "--output", dir.url("r.json"), "--output", dir.url("r.txt")])
        #expect(result.status == 1)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.url("r.json")))) as? [String: Any]
        #expect(json?["schemaVersion"] as? Int == 1)
        #expect(((json?["findings"] as? [Any])?.count ?? 0) >= 10)
        #expect(try String(contentsOfFile: dir.url("r.txt"), encoding: .utf8).contains("Summary:"))
        let validation = try validate(dir.url("r.sarif"))
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
        let sarif = try String(contentsOfFile: dir.url("r.sarif"), encoding: .utf8)
        #expect(!sarif.contains("\"uri\" : \"/"), "every result uri is relative to the root")
        // JSON to stdout: machine-readable output only, diagnostics to stderr.
        let stdoutJSON = try scan([example, "--format", "json"])
        #expect((try? JSONSerialization.jsonObject(with: Data(stdoutJSON.stdout.utf8))) != nil)
    }

    /// Reports to devices and pipes are written in place: `--output /dev/null` must never
    /// replace /dev/null (an atomic rename would, when run as root).
    @Test func outputToDevicesIsWrittenInPlace() throws {
        let result = try scan([example, "--format", "json", "--output", "/dev/stdout", "--format", "sarif", "--output", "/dev/null"])
        #expect(result.status == 1)
        // The JSON report went through the pipe, followed by the text summary.
        #expect(result.stdout.hasPrefix("{"))
        #expect(result.stdout.contains("\"schemaVersion\" : 1"))
        #expect(result.stdout.contains("Gate FAILED"))
        var st = stat()
        #expect(stat("/dev/null", &st) == 0)
        #expect((st.st_mode & S_IFMT) == S_IFCHR)
    }

    @Test func hostKeyBehindAnAbsoluteLinkIsNeverRead() throws {
        let host = try TemporaryDirectory(prefix: "rbscan-host")
        let root = try cleanRoot()
        defer { host.remove(); root.remove() }
        try FixtureWriter.write(["id_rsa": .file("-----BEGIN RSA PRIVATE KEY-----\nHOSTSECRETKEYMATERIAL\n-----END RSA PRIVATE KEY-----\n", mode: 0o600)],
                                into: host.path)
        try FixtureWriter.write(["etc/ssl/private/server.key": .symlink(host.url("id_rsa")),
                                 "etc/dropbear/key": .symlink("../../../../../../../../../.." + host.url("id_rsa"))], into: root.path)
        let result = try scan([root.path, "--format", "json", "--fail-on", "low"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let findings = (json?["findings"] as? [[String: Any]]) ?? []
        #expect(!findings.contains { $0["ruleId"] as? String == "RB-SEN-001" })
        #expect(!result.stdout.contains("HOSTSECRET"))
    }

    @Test func rulesSubcommands() throws {
        let lint = try runProcess(rbscan, ["rules", "lint"])
        #expect(lint.status == 0, "\(lint.stderr)")
        let test = try runProcess(rbscan, ["rules", "test"])
        #expect(test.status == 0, "\(test.stdout)")
        #expect(test.stdout.contains(" passed, 0 failed"))
        let list = try runProcess(rbscan, ["rules", "list"])
        #expect(list.status == 0)
        #expect(list.stdout.contains("RB-SYS-001"))
        let explain = try runProcess(rbscan, ["rules", "explain", "RB-IFC-001"])
        #expect(explain.status == 0)
        #expect(explain.stdout.contains("Remediation:"))
        #expect(explain.stdout.contains("interfaces.yaml:"))
        #expect(try runProcess(rbscan, ["rules", "explain", "RB-IFC-999"]).status == 2)
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try runProcess(rbscan, ["scan"]).status == 2)
        #expect(try scan([example, "--fail-on", "sometimes"]).status == 2)
        #expect(try scan([example, "--format", "pdf"]).status == 2)
        #expect(try scan([example, "--baseline", "/nonexistent.yaml"]).status == 2)
        #expect(try runProcess(rbscan, ["frobnicate"]).status == 2)
        let version = try runProcess(rbscan, ["version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("rbscan "))
    }

    @Test func outputIsDeterministic() throws {
        let a = try scan([example, "--format", "json", "--jobs", "1"]).stdout
        let b = try scan([example, "--format", "json", "--jobs", "8"]).stdout
        func strip(_ s: String) -> String {
            s.split(separator: "\n").filter { !$0.contains("Time\"") }.joined(separator: "\n")
        }
        #expect(strip(a) == strip(b))
    }

    func validate(_ path: String) throws -> ProcessResult {
        let shared = Repository.root + "/../shared/schemas/sarif-schema-2.1.0.json"
        let vendored = Repository.root + "/Tests/RBReportTests/Schemas/sarif-schema-2.1.0.json"
        let schema = FileManager.default.fileExists(atPath: shared) ? shared : vendored
        var result = try runProcess("/usr/bin/env", ["python3", Repository.root + "/scripts/validate-sarif.py", schema, path])
        if result.status == 2 {
            result = try runProcess("/usr/bin/python3", [Repository.root + "/scripts/validate-sarif.py", schema, path])
        }
        return result
    }
}
