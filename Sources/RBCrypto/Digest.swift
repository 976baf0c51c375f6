import COpenSSL

/// Message digests through OpenSSL's EVP interface: the one place rbscan hashes bytes (file
/// digests, fingerprints, key identities, FIT hashes, htpasswd and HTTP Digest logins).
///
/// One-shot: `Digest.hash(bytes, .md5)`, `Digest.sha256(bytes)`, `Digest.sha256Hex(bytes)`.
/// Streaming: `Digest(.sha256)`, `update` piece by piece, `finalize()`; after `finalize` the
/// same object hashes the next message (a password cracker keeps one per thread).
public final class Digest {
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        case md5, sha1, sha224, sha256, sha384, sha512

        /// The digest's length in bytes.
        public var length: Int {
            switch self {
            case .md5: 16
            case .sha1: 20
            case .sha224: 28
            case .sha256: 32
            case .sha384: 48
            case .sha512: 64
            }
        }

        var evp: OpaquePointer? {
            switch self {
            case .md5: EVP_md5()
            case .sha1: EVP_sha1()
            case .sha224: EVP_sha224()
            case .sha256: EVP_sha256()
            case .sha384: EVP_sha384()
            case .sha512: EVP_sha512()
            }
        }
    }

    public let algorithm: Algorithm
    private let context: OpaquePointer?
    /// The context must be (re)initialised before the next update: at the start and after
    /// every `finalize`.
    private var fresh = true
    /// OpenSSL failed during the current message: `finalize` gives nil.
    private var failed = false

    public init(_ algorithm: Algorithm) {
        self.algorithm = algorithm
        context = EVP_MD_CTX_new()
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Initialises the context for a new message (a reused context is reset by OpenSSL).
    private func start() {
        guard fresh else { return }
        fresh = false
        failed = context == nil || EVP_DigestInit_ex(context, algorithm.evp, nil) != 1
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        start()
        guard !failed, bytes.count > 0 else { return }
        failed = EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) != 1
    }

    public func update(_ bytes: some Collection<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// The digest of what was fed since `init` or the last `finalize`; nil if OpenSSL failed at
    /// any step. The next `update` starts a new message.
    public func finalize() -> [UInt8]? {
        start()
        defer { fresh = true }
        guard !failed else { return nil }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var size: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &out, &size) == 1 else { return nil }
        return Array(out.prefix(Int(size)))
    }

    /// The digest of `bytes` in one call; nil if OpenSSL cannot compute it (MD5 in a FIPS-only
    /// configuration).
    public static func hash(_ bytes: some Collection<UInt8>, _ algorithm: Algorithm) -> [UInt8]? {
        func oneShot(_ buffer: UnsafeRawBufferPointer) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
            var size: UInt32 = 0
            guard EVP_Digest(buffer.baseAddress, buffer.count, &out, &size, algorithm.evp, nil) == 1 else { return nil }
            return Array(out.prefix(Int(size)))
        }
        if let digest = bytes.withContiguousStorageIfAvailable({ oneShot(UnsafeRawBufferPointer($0)) }) { return digest }
        return Array(bytes).withUnsafeBytes(oneShot)
    }

    /// SHA-256 of `bytes`. Every OpenSSL provider has SHA-256, so a failure is a broken
    /// installation, not something a caller could handle: it stops the process.
    public static func sha256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        guard let digest = hash(bytes, .sha256) else { preconditionFailure("EVP_Digest(SHA-256) failed") }
        return digest
    }

    /// Lower-case hex SHA-256 of `bytes` (key identities, content hashes in reports).
    public static func sha256Hex(_ bytes: some Collection<UInt8>) -> String {
        Hex.encode(sha256(bytes))
    }

    /// HMAC of `message` under `key` (OpenSSL's HMAC); nil if OpenSSL fails.
    public static func hmac(_ message: some Collection<UInt8>, key: [UInt8], _ algorithm: Algorithm) -> [UInt8]? {
        let bytes = Array(message)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let done = key.withUnsafeBufferPointer { k in
            bytes.withUnsafeBufferPointer { d in
                HMAC(algorithm.evp, k.baseAddress, Int32(k.count), d.baseAddress, d.count, &out, &length)
            }
        }
        guard done != nil else { return nil }
        return Array(out.prefix(Int(length)))
    }
}

/// Random bytes from OpenSSL's CSPRNG.
public enum SecureRandom {
    /// `count` random bytes; nil when OpenSSL has no entropy to give.
    public static func bytes(_ count: Int) -> [UInt8]? {
        var random = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&random, Int32(count)) == 1 else { return nil }
        return random
    }
}
