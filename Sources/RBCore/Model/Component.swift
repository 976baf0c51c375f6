/// One software component found in a firmware tree.
public struct Component: Sendable, Hashable, Codable {
    public var name: String
    public var version: String
    /// `dpkg`, `opkg` (a package database) or `binary` (a version string in a file).
    public var source: String
    /// The file the version was read from.
    public var path: String
    /// For a package: the source package it was built from (dpkg's `Source:`, defaulting to the
    /// package's own name) and that source's version, which distribution advisories name.
    public var sourcePackage: String?
    public var sourceVersion: String?

    public init(name: String, version: String, source: String, path: String, sourcePackage: String? = nil, sourceVersion: String? = nil) {
        self.name = name
        self.version = version
        self.source = source
        self.path = path
        self.sourcePackage = sourcePackage
        self.sourceVersion = sourceVersion
    }

    /// The NVD CPE 2.3 name of a component found by its version string (nil for packages, whose
    /// distribution names do not map onto CPE products reliably).
    public var cpe: String? {
        guard source == "binary", let product = Self.cpeProducts[name] else { return nil }
        let escaped = version.map { ":\\*?!\"#$%&'()+,/;<=>@[]^`{|}~".contains($0) ? "\\\($0)" : String($0) }.joined()
        return "cpe:2.3:a:\(product):\(escaped):*:*:*:*:*:*:*"
    }

    /// `vendor:product` in the NVD CPE dictionary per component name.
    static let cpeProducts: [String: String] = [
        "busybox": "busybox:busybox", "openssl": "openssl:openssl", "dropbear": "dropbear_ssh_project:dropbear_ssh",
        "openssh": "openbsd:openssh", "linux": "linux:linux_kernel", "lighttpd": "lighttpd:lighttpd", "boa": "boa:boa",
        "goahead": "embedthis:goahead", "thttpd": "acme:thttpd", "uclibc": "uclibc:uclibc", "glibc": "gnu:glibc",
        "gsoap": "genivia:gsoap", "musl": "musl-libc:musl", "live555": "live555:streaming_media", "curl": "haxx:libcurl", "sqlite": "sqlite:sqlite",
        "miniupnpd": "miniupnp_project:miniupnpd", "dnsmasq": "thekelleys:dnsmasq", "hostapd": "w1.fi:hostapd",
    ]
}
