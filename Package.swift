// swift-tools-version:6.0
import PackageDescription

// Warnings are errors in CI (`.ci/run` passes -warnings-as-errors); the language mode is Swift 6
// (strict concurrency) for every target through the tools version. Linux (Debian 12) is the
// platform built and tested; no other platform is declared.
let package = Package(
    name: "rbscan",
    products: [
        .executable(name: "rbscan", targets: ["rbscan"]),
        .library(name: "RBScan", targets: ["RBScan"]),
        // For plugins written in Swift: the protocol's messages and a run loop (docs/plugins.md).
        // A plugin's Package.swift depends on it with `.package(path: "<rbscan checkout>")`.
        .library(name: "RBPluginSDK", targets: ["RBPluginSDK"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // System-library shims (see docs/NATIVE-DEPS notes in each module map).
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "CSquashFS", pkgConfig: "libsquashfs1", providers: [.apt(["libsquashfs-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CExt2fs", pkgConfig: "ext2fs", providers: [.apt(["libext2fs-dev"])]),
        .systemLibrary(name: "CLZO", pkgConfig: "lzo2", providers: [.apt(["liblzo2-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
        // zstd, bzip2 and lz4 streams (and UBIFS zstd nodes) are decoded with the codecs' own
        // libraries, which report how much input a stream took: carving resumes right after it.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CBzip2", providers: [.apt(["libbz2-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CCrypt", pkgConfig: "libcrypt", providers: [.apt(["libcrypt-dev"])]),
        // libyaml's event parser: YAML alias expansion is bounded before Yams composes a document.
        .systemLibrary(name: "CLibYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // libssh: the SSH password login of --allow-auth-tests (a full SSH client is not hand-written).
        .systemLibrary(name: "CLibSSH", pkgConfig: "libssh", providers: [.apt(["libssh-dev"])]),

        // Our own C for what must not run Swift code: read-only mappings of image files whose
        // faults (a file shrinking under the scan) are survivable, the signal handler that
        // removes the private temporary directory on SIGINT/SIGTERM/SIGHUP, and the spawn of
        // external check plugins (glibc's GNU-only posix_spawn file actions). No library.
        .target(name: "CSafeSystem", path: "Sources/CSafeSystem"),
        // MD5 of 8 or 16 messages abreast (AVX2/AVX-512 lanes), for the read-ahead pass's file
        // digests: OpenSSL hashes one message at a time and Debian 12 packages no multi-buffer
        // hashing library (isa-l_crypto). Plain C, no library.
        .target(name: "CMD5Lanes", path: "Sources/CMD5Lanes"),
        // The credential key-word scan, 16 text offsets at a time (SSE2); plain C, no library.
        .target(name: "CTextScan", path: "Sources/CTextScan"),

        // OpenSSL behind Swift types: digests, HMAC, random bytes, Base64 and hex; keys and
        // certificates from PEM/DER and PKCS#12 (freed with their values); signature and
        // detached-CMS verification; AES and single-DES decryption of vendor schemes with
        // public keys. The one place these are implemented; nothing above it calls their
        // OpenSSL functions.
        .target(name: "RBCrypto", dependencies: ["COpenSSL", "CMD5Lanes"]),
        // The external check plugin protocol (messages, PluginSession): Foundation only, so a
        // plugin depending on it builds none of rbscan's C libraries.
        .target(name: "RBPluginSDK"),

        // Model, rule/baseline loading, FileTree, check protocol and the engine.
        .target(name: "RBCore", dependencies: [
            "RBCrypto",
            "CSafeSystem",
            // The content cache keeps text LZ4-compressed (half the memory or less).
            "CLZ4",
            "CLibYAML",
            .product(name: "Yams", package: "Yams"),
        ]),
        // Image readers: container detection and carving, squashfs, archives, uImage, TRX, …
        .target(name: "RBImages", dependencies: ["RBCore", "RBCrypto", "CSafeSystem", "CSquashFS", "CArchive", "CZlib", "CExt2fs", "CLZO", "CLZMA", "CZstd", "CBzip2", "CLZ4", "CDeflate"]),
        // Endpoint probes: the raw-handshake TLS scanner. It keeps COpenSSL for the TLS sessions
        // themselves (the certificate handshake, the served chain's PEM and its verification
        // against a CA file, OpenSSL's cipher-suite names); its other crypto is RBCrypto's.
        .target(name: "RBNet", dependencies: ["RBCore", "RBCrypto", "COpenSSL", "CLibXML2", "CLibSSH"]),
        // Built-in check plugins, one per file, registered in BuiltinChecks.all.
        .target(name: "RBChecks", dependencies: ["RBCore", "RBCrypto", "RBPluginSDK", "CSafeSystem", "CTextScan", "CLibXML2", "CPCRE2", "CCrypt", "CSQLite", "CZlib", .product(name: "Yams", package: "Yams")]),
        // Reporters: SARIF 2.1.0, JSON, text.
        .target(name: "RBReport", dependencies: ["RBCore", "RBCrypto"]),
        // The library the CLI drives: target resolution, scan sessions, rule lint/test.
        .target(name: "RBScan", dependencies: ["RBCore", "RBImages", "RBNet", "RBChecks", "RBReport"]),
        // Thin CLI: parses arguments, calls RBScan, maps the outcome to an exit code.
        // Its directory is not Sources/rbscan: that name and Sources/RBScan collide on a
        // case-insensitive file system (a macOS checkout).
        .executableTarget(name: "rbscan", dependencies: [
            "RBScan",
            "RBCrypto",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/rbscan-cli"),
        // Helpers shared by the test targets (temp dirs, fixture trees, golden files).
        .target(name: "RBTestSupport", dependencies: ["RBCore", "RBCrypto", "CSafeSystem"], path: "Sources/RBTestSupport"),

        .testTarget(name: "RBCryptoTests", dependencies: ["RBCrypto", "RBTestSupport"]),
        .testTarget(name: "RBCoreTests", dependencies: ["RBCore", "RBCrypto", "RBTestSupport"]),
        .testTarget(name: "RBImagesTests", dependencies: ["RBImages", "RBCore", "RBScan", "RBTestSupport"],
                    exclude: ["Corpus", "Tools"]),
        .testTarget(name: "RBChecksTests", dependencies: ["RBChecks", "RBCore", "RBScan", "RBTestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "RBReportTests", dependencies: ["RBReport", "RBScan", "RBTestSupport"],
                    exclude: ["Golden", "Schemas"]),
        .testTarget(name: "RBScanTests", dependencies: ["RBScan", "RBNet", "RBCore", "RBCrypto", "RBPluginSDK", "rbscan", "RBTestSupport"]),
    ]
)

// The libFuzzer harness (scripts/fuzz): only in builds that ask for it, because its `main` is
// libFuzzer's and an ordinary build has none to link.
if Context.environment["RBSCAN_FUZZ"] != nil {
    package.products.append(.executable(name: "rbscan-fuzz", targets: ["rbscan-fuzz"]))
    package.targets.append(.executableTarget(name: "rbscan-fuzz", dependencies: ["RBScan"], path: "Fuzz/rbscan-fuzz"))
}
