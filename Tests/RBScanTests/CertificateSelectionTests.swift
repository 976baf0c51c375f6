import Foundation
import RBTestSupport
import Testing

/// Which certificate files of an image RB-TLS-007/008 judge: trust stores are told by content
/// (bundles, CA certificates where trust stores live), and a certificate a server config names is
/// always judged, under /etc/ssl/certs too (issue 20).
@Suite("Certificate selection")
struct CertificateSelectionTests {
    let rbscan = Repository.rbscanBinary

    /// RB-TLS-007 results of a scan of `root` as "path message".
    func tls007(_ root: String) throws -> [String] {
        let result = try runProcess(rbscan, ["scan", root, "--fail-on", "never", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let findings = report["findings"] as? [[String: Any]] ?? []
        return findings.filter { $0["ruleId"] as? String == "RB-TLS-007" && $0["status"] as? String == "fail" }
            .map { "\($0["path"] as? String ?? "") \($0["message"] as? String ?? "")" }.sorted()
    }

    @Test("A server's own certificate under /etc/ssl/certs is judged when lighttpd, nginx, Apache/Boa, stunnel or uhttpd names it; CA bundles and the CA directory give nothing")
    func referencedAndTrustStores() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            set -e
            mkdir -p base/etc/ssl/certs base/usr/share/ca-certificates/mozilla
            for n in 1 2 3; do
              openssl req -x509 -newkey rsa:1024 -nodes -keyout ca$n.key -out ca$n.pem -days 3650 -subj /CN=Root$n -addext basicConstraints=critical,CA:TRUE 2>/dev/null
            done
            cat ca1.pem ca2.pem ca3.pem > base/etc/ssl/certs/ca-certificates.crt
            cp ca1.pem base/usr/share/ca-certificates/mozilla/Root1.crt
            ln -s ../../../usr/share/ca-certificates/mozilla/Root1.crt base/etc/ssl/certs/Root1.pem
            openssl req -x509 -newkey rsa:1024 -nodes -keyout dev.key -out dev.pem -days 365 -subj /CN=cam 2>/dev/null
            openssl req -x509 -newkey rsa:1024 -nodes -keyout leaf.key -out leaf.pem -days 365 -subj /CN=leaf -addext basicConstraints=critical,CA:FALSE 2>/dev/null
            """, in: dir.path)
        // The trust store alone: nothing to judge (weak 1024-bit roots are the store's business).
        #expect(try tls007(dir.url("base")).isEmpty)
        // The device's self-signed certificate (CA:TRUE, as `openssl req -x509` makes it) in the
        // CA directory, named by each server's config in turn.
        let configs = [
            "etc/lighttpd/lighttpd.conf": "$SERVER[\"socket\"] == \":443\" {\n  ssl.engine = \"enable\"\n  ssl.pemfile = \"/etc/ssl/certs/device.pem\"\n}\n",
            "etc/nginx/nginx.conf": "server {\n  listen 443 ssl;\n  ssl_certificate /etc/ssl/certs/device.pem;\n}\n",
            "etc/boa/boa.conf": "Port 443\nSSLCertificateFile /etc/ssl/certs/device.pem\n",
            "etc/stunnel/stunnel.conf": "[https]\naccept = 443\nconnect = 80\ncert = /etc/ssl/certs/device.pem\n",
            "etc/config/uhttpd": "config uhttpd 'main'\n\tlist listen_https '0.0.0.0:443'\n\toption cert '/etc/ssl/certs/device.pem'\n\toption key '/etc/ssl/device.key'\n",
        ]
        for (path, text) in configs {
            let root = dir.url(path.split(separator: "/")[1] + "-root")
            try ImageFixtures.sh("cp -a base '\(root)' && cp dev.pem '\(root)/etc/ssl/certs/device.pem'", in: dir.path)
            #expect(try tls007(root).isEmpty, "\(path): not named yet, a CA certificate among the CAs")
            try FixtureWriter.write([path: .file(text)], into: root)
            #expect(try tls007(root) == ["etc/ssl/certs/device.pem certificate /CN=cam has a weak key: RSA-1024 (at least 2048)"], "\(path)")
        }
        // A certificate that is no CA is a device's own wherever it is, named or not.
        try ImageFixtures.sh("cp -a base leafroot && cp leaf.pem leafroot/etc/ssl/certs/leaf.pem", in: dir.path)
        #expect(try tls007(dir.url("leafroot")) == ["etc/ssl/certs/leaf.pem certificate /CN=leaf has a weak key: RSA-1024 (at least 2048)"])
    }
}
