import Foundation
import RBChecks
import RBCore
import RBTestSupport
import Testing

/// FIT images signed by U-Boot's own mkimage (RSA, configuration and image signatures, keys
/// written into a control device tree) and, for ECDSA, built with dtc from a signature made by
/// openssl: RB-PKG-005 and the FIT side of RB-PKG-008.
@Suite("Verified boot and FIT signatures (RB-PKG-005, RB-PKG-008)")
struct VerifiedBootTests {
    static let its = """
        /dts-v1/;
        / {
            description = "camera firmware";
            #address-cells = <1>;
            images {
                kernel-1 {
                    data = /incbin/("kernel.bin");
                    type = "kernel"; arch = "arm"; os = "linux"; compression = "none";
                    load = <0x80000>; entry = <0x80000>;
                    hash-1 { algo = "sha256"; };
                    signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; };
                };
                ramdisk-1 {
                    data = /incbin/("rootfs.sqsh");
                    type = "ramdisk"; arch = "arm"; os = "linux"; compression = "none";
                    hash-1 { algo = "crc32"; };
                };
            };
            configurations {
                default = "conf-1";
                conf-1 {
                    kernel = "kernel-1"; ramdisk = "ramdisk-1";
                    signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; sign-images = "kernel", "ramdisk"; };
                };
            };
        };
        """

    /// In a fresh directory: `fit.itb` signed with `keys/dev.key` (public key in `dev.pub` and,
    /// marked required for configurations, in `u-boot.dtb`), `unsigned.itb`, `tampered.itb`
    /// (one kernel byte changed), `moved.itb` (the signed load address changed),
    /// `optional.dtb` (the key not marked required), `other.dtb` (another key, required) and
    /// `u-boot.bin` (a U-Boot binary with the control tree appended).
    func makeFITs() throws -> TemporaryDirectory {
        let work = try TemporaryDirectory(prefix: "rbscan-fit")
        try Data(Self.its.utf8).write(to: URL(fileURLWithPath: work.url("fit.its")))
        _ = try ImageFixtures.sh("""
            set -e
            mkdir -p keys other root/etc
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out keys/dev.key 2>/dev/null
            openssl req -batch -new -x509 -key keys/dev.key -out keys/dev.crt -subj /CN=dev 2>/dev/null
            openssl pkey -in keys/dev.key -pubout -out dev.pub
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other/dev.key 2>/dev/null
            openssl req -batch -new -x509 -key other/dev.key -out other/dev.crt -subj /CN=dev 2>/dev/null
            head -c 6000 /dev/urandom > kernel.bin
            echo camera > root/etc/issue
            mksquashfs root rootfs.sqsh -noappend -quiet >/dev/null
            printf '/dts-v1/;\\n/ { model = "u-boot"; };\\n' > control.dts
            for d in u-boot optional other; do dtc -I dts -O dtb -o $d.dtb control.dts 2>/dev/null; done
            mkimage -f fit.its unsigned.itb >/dev/null
            mkimage -f fit.its -k keys -K u-boot.dtb -r fit.itb >/dev/null
            cp unsigned.itb scratch.itb; mkimage -F -k keys -K optional.dtb scratch.itb >/dev/null
            cp unsigned.itb scratch.itb; mkimage -F -k other -K other.dtb -r scratch.itb >/dev/null
            head -c 3000 /dev/urandom > u-boot-nodtb.bin
            cat u-boot-nodtb.bin u-boot.dtb > u-boot.bin
            """, in: work.path)
        // One kernel byte changed; the signed load address changed (0x80000 → 0x90000).
        let fit = try Data(contentsOf: URL(fileURLWithPath: work.url("fit.itb")))
        let kernel = try Data(contentsOf: URL(fileURLWithPath: work.url("kernel.bin")))
        var tampered = fit
        let at = try #require(fit.range(of: kernel)).lowerBound + 100
        tampered[at] ^= 1
        try tampered.write(to: URL(fileURLWithPath: work.url("tampered.itb")))
        var moved = fit
        let load = try #require(fit.range(of: Data([0x00, 0x08, 0x00, 0x00]))).lowerBound
        moved[load + 1] = 0x09
        try moved.write(to: URL(fileURLWithPath: work.url("moved.itb")))
        return work
    }

    func tree(_ work: TemporaryDirectory, _ files: [String: String]) throws -> MemoryTree {
        MemoryTree(items: try files.mapValues { MemoryTree.Item(content: Array(try Data(contentsOf: URL(fileURLWithPath: work.url($0))))) })
    }

    func verdicts(_ observations: [Observation]) -> [String] {
        observations.map { "\($0.status) \($0.evidence.key.split(separator: ":").first ?? "")" }.sorted()
    }

    @Test("RB-PKG-005 on mkimage FITs: signed + required key passes; tampered, re-signed elsewhere, unsigned, optional keys fail; no control tree or no FIT is review")
    func verifiedBoot() async throws {
        let work = try makeFITs()
        defer { work.remove() }
        func check(_ files: [String: String]) async throws -> [String] {
            verdicts(try await run(VerifiedBootCheck.self, "{}", tree: try tree(work, files)).observations)
        }
        #expect(try await check(["boot/fit.itb": "fit.itb", "boot/u-boot.dtb": "u-boot.dtb"]) == [])
        #expect(try await check(["boot/fit.itb": "fit.itb", "boot/u-boot.bin": "u-boot.bin"]) == [], "the control tree appended to U-Boot")
        #expect(try await check(["boot/fit.itb": "tampered.itb", "boot/u-boot.dtb": "u-boot.dtb"]) == ["fail fit-hash-mismatch"])
        #expect(try await check(["boot/fit.itb": "moved.itb", "boot/u-boot.dtb": "u-boot.dtb"]) == ["fail fit-signature-invalid"])
        #expect(try await check(["boot/fit.itb": "fit.itb", "boot/u-boot.dtb": "other.dtb"]) == ["fail fit-signature-invalid"])
        #expect(try await check(["boot/fit.itb": "fit.itb", "boot/u-boot.dtb": "optional.dtb"]) == ["fail keys-not-required"])
        #expect(try await check(["boot/fit.itb": "unsigned.itb", "boot/u-boot.dtb": "u-boot.dtb"]) == ["fail unsigned-fit"])
        #expect(try await check(["boot/fit.itb": "fit.itb"]) == ["review no-uboot-keys"])
        #expect(try await check(["boot/u-boot.dtb": "u-boot.dtb"]) == ["review no-fit"])
    }

    @Test("RB-PKG-006: the private half of U-Boot's verification key shipped in the image is critical")
    func shippedBootKey() async throws {
        let work = try makeFITs()
        defer { work.remove() }
        let shipped = try await run(SigningKeyCheck.self, "{}", tree: try tree(work, ["boot/u-boot.dtb": "u-boot.dtb", "root/keys/dev.key": "keys/dev.key"]))
        #expect(verdicts(shipped.observations) == ["fail update-private-key"], "\(shipped.observations.map(\.message))")
        #expect(shipped.observations.first?.severity == .critical && shipped.observations.first?.location.path == "root/keys/dev.key")
        #expect(shipped.observations.first?.message.contains("U-Boot key dev") == true)
        let other = try await run(SigningKeyCheck.self, "{}", tree: try tree(work, ["boot/u-boot.dtb": "u-boot.dtb", "root/keys/other.key": "other/dev.key"]))
        #expect(other.observations.isEmpty)
    }

    @Test("RB-PKG-008 with --signing-key on FITs in the tree: signed verifies; tampered data, a changed configuration or another key fail critical")
    func fitSignatureWithGivenKey() async throws {
        let work = try makeFITs()
        defer { work.remove() }
        func check(_ image: String, key: String = "dev.pub") async throws -> [String] {
            var limits = ScanLimits()
            limits.signingKeys = [work.url(key)]
            return verdicts(try await run(ImageSignatureCheck.self, "{}", tree: try tree(work, ["firmware/fw.itb": image]), limits: limits).observations)
        }
        #expect(try await check("fit.itb") == [])
        #expect(try await check("fit.itb", key: "keys/dev.crt") == [], "a certificate works as the key")
        #expect(try await check("tampered.itb") == ["fail bad-fit-signature", "fail fit-hash-mismatch"])
        #expect(try await check("moved.itb") == ["fail bad-fit-signature"])
        #expect(try await check("fit.itb", key: "other/dev.crt") == ["fail bad-fit-signature", "fail bad-fit-signature"])
    }

    @Test("ECDSA P-256 FIT image signatures (raw r||s as U-Boot stores them) verify with the PEM key and with U-Boot's ecdsa key node")
    func ecdsa() async throws {
        let work = try TemporaryDirectory(prefix: "rbscan-ecfit")
        defer { work.remove() }
        // The signature and the key node values are made by openssl and written as dtc byte strings.
        _ = try ImageFixtures.sh(#"""
            set -e
            openssl ecparam -name prime256v1 -genkey -noout -out ec.pem 2>/dev/null
            openssl ec -in ec.pem -pubout -out ec.pub 2>/dev/null
            openssl ec -in ec.pem -pubout -outform DER -out ec.der 2>/dev/null
            head -c 5000 /dev/urandom > kernel.bin
            openssl dgst -sha256 -sign ec.pem -out sig.der kernel.bin
            python3 - <<'EOF'
            der = open('sig.der', 'rb').read()
            # SEQUENCE { INTEGER r, INTEGER s } -> r||s, 32 bytes each
            def ints(b):
                i = 2 if b[1] < 0x80 else 3
                out = []
                while i < len(b):
                    n = b[i + 1]; v = b[i + 2:i + 2 + n]; out.append(v[-32:].rjust(32, b'\0')); i += 2 + n
                return out
            r, s = ints(der)
            point = open('ec.der', 'rb').read()[-64:]
            hexs = lambda b: ' '.join('%02x' % x for x in b)
            fit = '''/dts-v1/;
            / { images { kernel-1 { data = /incbin/("kernel.bin"); type = "kernel"; compression = "none";
                signature-1 { algo = "sha256,ecdsa256"; key-name-hint = "ec"; value = [%s]; }; }; };
                configurations { default = "conf-1"; conf-1 { kernel = "kernel-1"; }; }; };
            ''' % hexs(r + s)
            control = '''/dts-v1/;
            / { signature { key-ec { algo = "sha256,ecdsa256"; required = "image"; key-name-hint = "ec"; ecdsa,curve = "prime256v1";
                ecdsa,x-point = [%s]; ecdsa,y-point = [%s]; }; }; };
            ''' % (hexs(point[:32]), hexs(point[32:]))
            open('ec.its', 'w').write(fit); open('control.dts', 'w').write(control)
            EOF
            dtc -I dts -O dtb -o ec.itb ec.its 2>/dev/null
            dtc -I dts -O dtb -o u-boot.dtb control.dts 2>/dev/null
            python3 -c "d=bytearray(open('ec.itb','rb').read()); k=open('kernel.bin','rb').read(); i=d.find(k); d[i+7]^=1; open('tampered.itb','wb').write(d)"
            """#, in: work.path)
        var limits = ScanLimits()
        limits.signingKeys = [work.url("ec.pub")]
        for (image, expected) in [("ec.itb", [String]()), ("tampered.itb", ["fail bad-fit-signature"])] {
            let signature = try await run(ImageSignatureCheck.self, "{}", tree: try tree(work, ["fw/fw.itb": image]), limits: limits)
            #expect(verdicts(signature.observations) == expected, "\(image): \(signature.observations.map(\.message))")
            let boot = try await run(VerifiedBootCheck.self, "{}", tree: try tree(work, ["boot/fw.itb": image, "boot/u-boot.dtb": "u-boot.dtb"]))
            #expect(verdicts(boot.observations) == expected.map { _ in "fail fit-signature-invalid" }, "\(image): \(boot.observations.map(\.message))")
        }
    }
}
