import Foundation
@testable import RBChecks
import RBCore
import RBTestSupport
import Testing

/// RB-SEN-002: every planted credential in a fixture root is found and masked; this machine's own
/// configuration files (real /etc content) give nothing.
@Suite("Hard-coded credentials")
struct CredentialTests {
    @Test("Planted credentials: one finding each, values masked, never in clear")
    func planted() async throws {
        let secrets = ["Xk29fLq7", "AKIAZ7W3KJ4HXQ2R5T6Y", "AIzaSyD3x9Kq2LmN8pR4tV6wY1zA3bC5dE7fG9h", "LTAI5tQ8zKp2Xv9RmW3n",
                       "Setup-8421-cam", "Gq7#pZ2vL9xQ", "R00t!2019", "wifi-Pass-2291", "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tV9wX1yZ3aB5"]
        let (observations, diagnostics) = try await run(CredentialCheck.self, "{}", files: [
            "etc/init.d/S90upload": .file("#!/bin/sh\ncurl -T /tmp/snap.jpg ftp://camera:\(secrets[0])@upload.example.net/in/\n"),
            "etc/cloud.json": .file("{\"accessKeyId\": \"\(secrets[1])\", \"mapsKey\": \"\(secrets[2])\", \"aliyun\": \"\(secrets[3])\"}\n"),
            "etc/hostapd.conf": .file("ssid=CAM-SETUP\nwpa=2\nwpa_passphrase=\(secrets[4])\n"),
            "etc/config/mqtt.conf": .file("broker=mqtt.example.net\nmqtt_password=\(secrets[5])\n"),
            "usr/bin/sync.sh": .file("#!/bin/sh\nsshpass -p '\(secrets[6])' scp /tmp/log root@10.0.0.2:/logs\n"),
            "etc/wpa_supplicant.conf": .file("network={\n  ssid=\"factory\"\n  psk=\"\(secrets[7])\"\n}\n"),
            "opt/app/deploy.env": .file("GITHUB_TOKEN=\(secrets[8])\n"),
        ])
        #expect(diagnostics.isEmpty)
        let kinds = observations.map { "\($0.location.path) \($0.evidence.facts["kind"] ?? "")" }.sorted()
        #expect(kinds == [
            "etc/cloud.json AWS access key ID", "etc/cloud.json Aliyun AccessKey ID", "etc/cloud.json Google API key",
            "etc/config/mqtt.conf hard-coded mqtt_password", "etc/hostapd.conf Wi-Fi passphrase (hostapd)",
            "etc/init.d/S90upload URL credentials", "etc/wpa_supplicant.conf Wi-Fi PSK (wpa_supplicant)",
            "opt/app/deploy.env GitHub token", "usr/bin/sync.sh sshpass password",
        ], "\(kinds)")
        for observation in observations {
            for secret in secrets {
                #expect(!observation.message.contains(secret) && !(observation.evidence.snippet ?? "").contains(secret), "\(observation.message)")
            }
        }
    }

    @Test("This machine's configuration files (/etc) give no finding")
    func realConfiguration() async throws {
        var files: [String: MemoryTree.Item] = [:]
        for path in ["/etc/ssh/sshd_config", "/etc/ssh/ssh_config", "/etc/services", "/etc/login.defs", "/etc/adduser.conf",
                     "/etc/deluser.conf", "/etc/pam.d/common-password", "/etc/pam.d/login", "/etc/security/pwquality.conf",
                     "/etc/redis/redis.conf", "/etc/snmp/snmpd.conf", "/etc/ssl/openssl.cnf", "/etc/debconf.conf",
                     "/etc/appstream.conf", "/etc/wgetrc", "/etc/apt/sources.list", "/etc/resolv.conf"] {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            files[String(path.dropFirst())] = MemoryTree.Item(content: Array(data))
        }
        #expect(files.count >= 8)
        let (observations, _) = try await run(CredentialCheck.self, "{}", files: files)
        #expect(observations.isEmpty, "\(observations.map { "\($0.location.path):\($0.location.line ?? 0) \($0.message)" })")
        // RB-DAT-002 on the same files: no outbound integration in clear text either.
        let (outbound, _) = try await run(OutboundTransportCheck.self, "{}", files: files)
        #expect(outbound.isEmpty, "\(outbound.map(\.message))")
    }
}

@Suite("Configuration exports under a firmware-global key (RB-SEN-007)")
struct ConfigExportTests {
    @Test("An export XOR-masked then AES-encrypted with a profile key opens as a config target; a compressed file is not ciphertext")
    func profileKeyWithMask() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-export")
        defer { directory.remove() }
        var plain = Array("<?xml version=\"1.0\"?>\n<ConfigurationFile><User name=\"admin\" password=\"x\"/></ConfigurationFile>\n".utf8)
        while plain.count % 16 != 0 { plain.append(0) }
        let mask: [UInt8] = [0x73, 0x8b, 0x55, 0x44]
        let masked = plain.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try Data(masked).write(to: URL(fileURLWithPath: directory.url("masked")))
        _ = try ImageFixtures.sh("""
            openssl enc -aes-128-ecb -nopad -K 00112233445566778899aabbccddeeff -in masked -out configurationFile
            head -c 4096 /dev/urandom > noise; xz -k noise; mv noise.xz settings.bin
            """, in: directory.path)
        var profile = DeviceProfile(id: "p", title: "p", file: "p.yaml", interfaces: [], sensitivePaths: [])
        profile.exportKeys = [DeviceProfile.ExportKey(name: "acme", aes: "00112233445566778899aabbccddeeff", xor: "738b5544")]
        for (name, expected) in [("configurationFile", 1), ("settings.bin", 0)] {
            let (observations, _) = try await run(ConfigExportCheck.self, "{}", tree: try DirectoryTree(file: directory.url(name)),
                                                  kind: .config, profile: profile)
            #expect(observations.count == expected, "\(name): \(observations.map(\.message))")
            #expect(observations.allSatisfy { $0.evidence.facts["keySource"] == "profile key acme" && $0.evidence.facts["content"] == "XML" })
        }
    }
}

@Suite("Generic credential assignments: only windows with an assigned key word are searched")
struct CredentialWindowTests {
    /// Random texts of key words, name characters, quotes, blanks, `=`, `:` and the two
    /// non-ASCII letters PCRE2 folds onto k and s: every match of the generic pattern holds a
    /// key word start (as the scan finds them) whose name is followed by an assignment.
    @Test func everyMatchHoldsAnAssignedKeyWord() throws {
        let generic = try Regex(CredentialCheck.generic)
        let scan = try KeywordScan()
        let pieces = ["password", "PassWord", "pwd", "secret", "token", "api_key", "api-Key", "key", "pass", "passphrase",
                      "client_secret", "my.", "db_", "x", "9", "-", "_", " ", "\t", "\n", "=", ":", "=>", "\"", "'", ",", ";", "{",
                      "s3cr3tV4lue", "Zq8!xT", "to\u{212A}en", "\u{017F}ecret", "é", "<", "value123456"]
        var generator = SplitMix(seed: 424242)
        var matched = 0
        for _ in 0..<12000 {
            let count = Int(generator.next() % 14) + 1
            let text = (0..<count).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
            let bytes = Array(text.utf8)
            let words = scan.starts(in: bytes, limit: 4096)
            for match in generic.matches(in: bytes) {
                matched += 1
                let held = words.contains { match.range.contains($0) && CredentialCheck.assignmentFollows(bytes, nameAt: $0) }
                #expect(held, "\(text.debugDescription): match \(String(decoding: bytes[match.range], as: UTF8.self).debugDescription)")
            }
        }
        #expect(matched > 300, "\(matched) matches checked")
        #expect(CredentialCheck.assignmentFollows(Array("db_password\" : x".utf8), nameAt: 3))
        #expect(!CredentialCheck.assignmentFollows(Array("the password is".utf8), nameAt: 4))
    }
}
