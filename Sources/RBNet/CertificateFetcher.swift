import COpenSSL
import RBCore

/// A real handshake through OpenSSL (security level 0, every protocol and authenticated suite it
/// has, so legacy servers answer too) to read the certificate chain the endpoint serves. The
/// handshake itself never rejects a certificate: the certificate rules judge what is served, and
/// with a CA file the chain is verified afterwards (CertificateTrust).
enum CertificateFetcher {
    struct Handshake: Sendable {
        var certificatePEM: String?
        var chainLength: Int?
        var trust: TLSFacts.Trust?
    }

    /// One OpenSSL handshake (every protocol and authenticated suite it has, security level 0)
    /// for the leaf certificate: PEM, chain length and, with `caFile`, its verification; or a
    /// reason it could not be read.
    static func certificate(host: String, port: UInt16, timeout: Double, caFile: String?) -> Result<Handshake, TCPConnection.Failure> {
        let stream: TLSStream
        do {
            let connection = try TCPConnection(host: host, port: port, timeout: timeout)
            stream = try TLSStream(connection: connection, host: host, timeout: timeout, ciphers: "ALL:COMPLEMENTOFALL:!aNULL:@SECLEVEL=0")
        } catch {
            return .failure(error)
        }
        // The session (and the certificates it owns) lives until the facts are taken.
        return withExtendedLifetime(stream) {
            let ssl = stream.ssl
            guard let certificate = SSL_get1_peer_certificate(ssl) else { return .failure(.init(message: "the server sent no certificate")) }
            defer { X509_free(certificate) }
            var result = Handshake()
            result.certificatePEM = pem(certificate)
            // The client side's chain includes the leaf; it stays owned by the connection.
            let chain = SSL_get_peer_cert_chain(ssl)
            result.chainLength = chain.map { Int(OPENSSL_sk_num($0)) }
            if let caFile {
                result.trust = CertificateTrust.verify(leaf: certificate, chain: chain, caFile: caFile, host: host)
            }
            return .success(result)
        }
    }

    static func pem(_ certificate: OpaquePointer) -> String? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard PEM_write_bio_X509(bio, certificate) == 1 else { return nil }
        var pem: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, 4096) }
            if n <= 0 { break }
            pem += buffer.prefix(Int(n))
        }
        return String(decoding: pem, as: UTF8.self)
    }
}
