import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// A client TLS session over a connected socket (OpenSSL, security level 0, no verification:
/// the rules judge what is served, whatever a client would decide). `ciphers` restricts TLS 1.2
/// and older suites (OpenSSL's cipher string).
final class TLSStream {
    let context: OpaquePointer
    let ssl: OpaquePointer
    let connection: TCPConnection

    init(connection: TCPConnection, host: String, timeout: Double, ciphers: String? = nil) throws(TCPConnection.Failure) {
        self.connection = connection
        let flags = fcntl(connection.fd, F_GETFL)
        _ = fcntl(connection.fd, F_SETFL, flags & ~O_NONBLOCK)
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(connection.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .init(message: "SSL_CTX_new failed") }
        SSL_CTX_set_security_level(context, 0)
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        if let ciphers, SSL_CTX_set_cipher_list(context, ciphers) != 1 {
            SSL_CTX_free(context)
            throw .init(message: "no cipher matches \(ciphers)")
        }
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw .init(message: "SSL_new failed")
        }
        self.context = context
        self.ssl = ssl
        SSL_set_fd(ssl, connection.fd)
        if host.first?.isLetter == true, !host.contains(":") {
            _ = host.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
        }
        // Every stored property is set from here on, so a throw runs deinit, which frees the
        // session and context: freeing them here as well was a double free.
        guard SSL_connect(ssl) == 1 else {
            throw .init(message: "OpenSSL handshake failed: " + Self.lastError())
        }
        connected = true
    }

    /// The handshake completed (only then is a close_notify sent).
    private var connected = false

    deinit {
        if connected { SSL_shutdown(ssl) }
        SSL_free(ssl)
        SSL_CTX_free(context)
        ERR_clear_error()
    }

    func write(_ bytes: [UInt8]) throws(TCPConnection.Failure) {
        let written = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(bytes.count) else { throw .init(message: "TLS write failed") }
    }

    /// The next bytes; nil or [] at the end (close, timeout or error).
    func read() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let n = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        return n > 0 ? Array(buffer.prefix(Int(n))) : nil
    }
}

extension TLSStream {
    /// OpenSSL's first queued error as text (the queue is cleared).
    static func lastError() -> String {
        defer { ERR_clear_error() }
        let code = ERR_get_error()
        guard code != 0 else { return "connection closed" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, 256)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
