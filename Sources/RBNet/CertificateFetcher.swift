import COpenSSL
import RBCore
#if canImport(Glibc)
import Glibc
#endif

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
        let connection: TCPConnection
        do { connection = try TCPConnection(host: host, port: port, timeout: timeout) } catch { return .failure(error) }
        // OpenSSL drives a blocking socket; kernel timeouts bound every read and write.
        let flags = fcntl(connection.fd, F_GETFL)
        _ = fcntl(connection.fd, F_SETFL, flags & ~O_NONBLOCK)
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(connection.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))

        guard let context = SSL_CTX_new(TLS_client_method()) else { return .failure(.init(message: "SSL_CTX_new failed")) }
        defer { SSL_CTX_free(context) }
        SSL_CTX_set_security_level(context, 0)
        guard SSL_CTX_set_cipher_list(context, "ALL:COMPLEMENTOFALL:!aNULL:@SECLEVEL=0") == 1 else {
            return .failure(.init(message: "SSL_CTX_set_cipher_list failed"))
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        guard let ssl = SSL_new(context) else { return .failure(.init(message: "SSL_new failed")) }
        defer { SSL_free(ssl) }
        SSL_set_fd(ssl, connection.fd)
        if host.first?.isLetter == true, !host.contains(":") {
            _ = host.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
        }
        defer { ERR_clear_error() }
        guard SSL_connect(ssl) == 1 else {
            return .failure(.init(message: "OpenSSL handshake failed: " + lastError()))
        }
        defer { SSL_shutdown(ssl) }
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

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "connection closed" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, 256)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
