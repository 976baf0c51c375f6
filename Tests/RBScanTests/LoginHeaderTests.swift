import Foundation
import RBTestSupport
import Testing
@testable import RBNet

/// The credentials the opt-in login attempts send, against the RFCs' own examples and an
/// independent computation (openssl and base64 command-line tools), so a digest or Base64 change
/// cannot pass unnoticed: the endpoint tests only see whether a server accepted them.
@Suite("Login headers: HTTP Basic and Digest, ONVIF UsernameToken")
struct LoginHeaderTests {
    @Test("Basic is Base64 of user:password (RFC 7617 §2)")
    func basic() {
        #expect(DefaultLogin.authorization(challenge: "Basic realm=\"WallyWorld\"", method: "GET", uri: "/", user: "Aladdin",
                                           password: "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    }

    @Test("Digest without qop answers with RFC 2069's example response")
    func digest() {
        let header = DefaultLogin.authorization(challenge: "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
                                                method: "GET", uri: "/dir/index.html", user: "Mufasa", password: "CircleOfLife")
        #expect(header == "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", response=\"1949323746fe6a43ef61f9606e7febea\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"")
    }

    @Test("The ONVIF PasswordDigest is Base64(SHA-1(nonce + created + password)) of the nonce it sends")
    func onvifToken() throws {
        let token = ONVIFClient.usernameToken(user: "admin", password: "12345")
        func element(_ name: String) throws -> String {
            let open = try #require(token.range(of: "<wsse:\(name)")).upperBound
            let start = try #require(token[open...].firstIndex(of: ">"))
            let end = try #require(token.range(of: "</wsse:\(name)>")).lowerBound
            return String(token[token.index(after: start)..<end])
        }
        let nonce = try element("Nonce"), password = try element("Password")
        let created = try #require(token.range(of: "<wsu:Created>").map { token[$0.upperBound...].prefix(20) })
        let directory = try TemporaryDirectory(prefix: "rbscan-onvif")
        defer { directory.remove() }
        let expected = try ImageFixtures.sh("{ printf %s '\(nonce)' | base64 -d; printf %s '\(created)12345'; } | openssl dgst -sha1 -binary | base64",
                                            in: directory.path)
        #expect(password == expected.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(nonce.count == 24)
    }
}
