import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// An X.509 certificate read by OpenSSL (an X509, freed with the value), with the fields the
/// certificate rules and key checks look at.
public final class Certificate {
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { X509_free(pointer) }

    /// Every certificate in `bytes`: the PEM ones in order (a chain, leaf first; at most
    /// `limit`), else one DER certificate.
    public static func all(in bytes: [UInt8], limit: Int = 32) -> [Certificate] {
        var result: [Certificate] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            if let bio = BIO_new_mem_buf(base, Int32(clamping: buffer.count)) {
                defer { BIO_free(bio) }
                while result.count < limit, let x509 = PEM_read_bio_X509(bio, nil, nil, nil) {
                    result.append(Certificate(owning: x509))
                }
                ERR_clear_error()
            }
            if result.isEmpty {
                var cursor: UnsafePointer<UInt8>? = base
                if let x509 = d2i_X509(nil, &cursor, buffer.count) { result.append(Certificate(owning: x509)) }
                ERR_clear_error()
            }
        }
        return result
    }

    /// The subject as OpenSSL's one-line form (`/C=DE/CN=cam`); "?" when it has none.
    public var subject: String { Self.name(X509_get_subject_name(pointer)) }
    public var issuer: String { Self.name(X509_get_issuer_name(pointer)) }

    /// Issued by itself: its issuer is its subject and its key signed it.
    public var isSelfSigned: Bool { X509_check_issued(pointer, pointer) == rb_x509_v_ok() }

    /// A CA certificate (basicConstraints CA:TRUE, or a v1 self-signed root): what trust stores
    /// hold, not a server's own identity.
    public var isCA: Bool { X509_check_ca(pointer) > 0 }

    /// The subject's public key; nil when OpenSSL cannot decode it.
    public var publicKey: Key? { X509_get_pubkey(pointer).map(Key.init(owning:)) }

    /// The signature algorithm's long name (`sha256WithRSAEncryption`), or `nid N`.
    public var signatureAlgorithm: String {
        let nid = X509_get_signature_nid(pointer)
        return OBJ_nid2ln(nid).map { String(cString: $0) } ?? "nid \(nid)"
    }

    /// A validity bound: how far it is from now, and when.
    public struct Time: Sendable, Equatable {
        /// Seconds from now (negative: in the past); 0 when OpenSSL cannot compare it.
        public var secondsFromNow: Int
        /// ISO 8601 UTC (`2030-01-31T23:59:59Z`); "" when OpenSSL cannot read it.
        public var iso8601: String
    }

    public var notBefore: Time { Self.time(X509_get0_notBefore(pointer)) }
    public var notAfter: Time { Self.time(X509_get0_notAfter(pointer)) }

    private static func name(_ name: OpaquePointer?) -> String {
        guard let name, let text = X509_NAME_oneline(name, nil, 0) else { return "?" }
        defer { CRYPTO_free(text, #fileID, #line) }
        return String(cString: text)
    }

    private static func time(_ time: UnsafePointer<ASN1_TIME>?) -> Time {
        var days: Int32 = 0, seconds: Int32 = 0
        let fromNow = time.map { ASN1_TIME_diff(&days, &seconds, nil, $0) == 1 } == true ? Int(days) * 86_400 + Int(seconds) : 0
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { return Time(secondsFromNow: fromNow, iso8601: "") }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let iso = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
        return Time(secondsFromNow: fromNow, iso8601: iso)
    }
}
