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
    /// For a package: its architecture (`amd64`, `all`, `mips_24kc`), as the database says.
    public var architecture: String?
    /// The distribution the tree says it is (os-release), for package URLs and the SBOM's
    /// operating-system component.
    public var distribution: Distribution?
    /// For a package: the installed packages its `Pre-Depends` and `Depends` name (the first
    /// installed alternative of each, virtual names resolved through `Provides`), sorted.
    public var dependsOn: [String]?
    /// For a package: its licences, from `usr/share/doc/NAME/copyright` (SPDX identifiers where
    /// the name maps onto one, else the name the file gives), sorted.
    public var licenses: [String]?
    /// For a component found by a version string: the SHA-256 of the file it was found in.
    public var sha256: String?
    /// For a component found by a version string: the installed package whose file list holds
    /// that file (the SBOM then lists the package alone, with this detection's CPE and hash).
    public var ownedBy: String?

    public init(name: String, version: String, source: String, path: String, sourcePackage: String? = nil, sourceVersion: String? = nil) {
        self.name = name
        self.version = version
        self.source = source
        self.path = path
        self.sourcePackage = sourcePackage
        self.sourceVersion = sourceVersion
    }

    /// The distribution of a tree, from `etc/os-release` (`ID`, `VERSION_ID`, `PRETTY_NAME`).
    public struct Distribution: Sendable, Hashable, Codable {
        public var id: String
        public var versionID: String?
        public var prettyName: String?

        public init(id: String, versionID: String?, prettyName: String?) {
            self.id = id
            self.versionID = versionID
            self.prettyName = prettyName
        }

        /// The package URL `distro` qualifier: `debian-12`, `openwrt-23.05.3` (the id alone
        /// without a version).
        public var qualifier: String { versionID.map { id + "-" + $0 } ?? id }
    }

    /// The SPDX licence identifiers rbscan writes as such: the ones Debian's short names map
    /// onto (`DebianCopyright`, through the tables below); any other licence is written by name.
    public static let spdxIdentifiers: Set<String> = Set(debianLicenceNames.values)
        .union(debianLicenceStems.values.flatMap { [$0 + "-only", $0 + "-or-later"] })

    /// Versioned GNU licences: Debian (DEP-5) short name without `+` → SPDX stem (`-only`, or
    /// `-or-later` for a name ending in `+`).
    public static let debianLicenceStems: [String: String] = [
        "gpl-1": "GPL-1.0", "gpl-2": "GPL-2.0", "gpl-3": "GPL-3.0", "gplv2": "GPL-2.0", "gplv3": "GPL-3.0",
        "lgpl-2": "LGPL-2.0", "lgpl-2.1": "LGPL-2.1", "lgpl-3": "LGPL-3.0", "lgplv2.1": "LGPL-2.1", "lgplv3": "LGPL-3.0",
        "agpl-3": "AGPL-3.0", "gfdl-1.2": "GFDL-1.2", "gfdl-1.3": "GFDL-1.3",
    ]

    /// Other Debian (DEP-5) short names with an SPDX twin, lowercased.
    public static let debianLicenceNames: [String: String] = [
        "expat": "MIT", "mit": "MIT", "bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause", "bsd-4-clause": "BSD-4-Clause",
        "isc": "ISC", "zlib": "Zlib", "apache-2": "Apache-2.0", "apache-2.0": "Apache-2.0", "cc0-1.0": "CC0-1.0", "x11": "X11",
        "fsfullr": "FSFULLR", "fsfap": "FSFAP", "fsful": "FSFUL", "artistic": "Artistic-1.0-Perl", "artistic-2.0": "Artistic-2.0",
        "mpl-1.1": "MPL-1.1", "mpl-2.0": "MPL-2.0", "openssl": "OpenSSL", "python-2.0": "Python-2.0",
        "beerware": "Beerware", "latex2e": "Latex2e", "curl": "curl",
    ]

    /// The upstream version of a distribution package version: without the epoch (`1:`) and
    /// the Debian revision (`-9+deb12u4`). `2:6.2.1+dfsg1-1.1` gives `6.2.1+dfsg1`.
    public static func upstreamVersion(_ version: String) -> String {
        var text = Substring(version)
        if let colon = text.firstIndex(of: ":"), text[..<colon].allSatisfy(\.isNumber) { text = text[text.index(after: colon)...] }
        if let dash = text.lastIndex(of: "-") { text = text[..<dash] }
        return String(text)
    }

    /// The epoch of a distribution package version (`2` in `2:6.2.1+dfsg1-1.1`), nil without one.
    public static func epoch(_ version: String) -> String? {
        guard let colon = version.firstIndex(of: ":"), !version[..<colon].isEmpty, version[..<colon].allSatisfy(\.isNumber) else { return nil }
        return String(version[..<colon])
    }

    /// The Debian revision of a package version (`9+deb12u4` in `2.36-9+deb12u4`), nil for a
    /// native package.
    public static func debianRevision(_ version: String) -> String? {
        guard let dash = version.lastIndex(of: "-") else { return nil }
        return String(version[version.index(after: dash)...])
    }

    /// The CPE 2.3 name of a distribution package whose source package is a known upstream
    /// product (`glibc` → `gnu:glibc`), with the upstream version; nil for the others, whose
    /// distribution names do not map onto NVD products reliably.
    public var packageCPE: String? {
        guard source != "binary", let product = Self.cpeProducts[sourcePackage ?? name] ?? Self.sourceProducts[sourcePackage ?? name] else { return nil }
        return Self.cpe(product, Self.upstreamVersion(sourceVersion ?? version))
    }

    static func cpe(_ product: String, _ version: String) -> String {
        let escaped = version.map { ":\\*?!\"#$%&'()+,/;<=>@[]^`{|}~".contains($0) ? "\\\($0)" : String($0) }.joined()
        return "cpe:2.3:a:\(product):\(escaped):*:*:*:*:*:*:*"
    }

    /// `vendor:product` in the NVD CPE dictionary per distribution source package (beside the
    /// names shared with version-string detections, `cpeProducts`).
    static let sourceProducts: [String: String] = [
        "openssh": "openbsd:openssh", "bash": "gnu:bash", "coreutils": "gnu:coreutils", "tar": "gnu:tar", "gzip": "gnu:gzip",
        "xz-utils": "tukaani:xz", "zlib": "zlib:zlib", "bzip2": "bzip:bzip2", "sed": "gnu:sed", "grep": "gnu:grep",
        "findutils": "gnu:findutils", "util-linux": "kernel:util-linux", "systemd": "systemd_project:systemd", "sudo": "sudo_project:sudo",
        "shadow": "shadow-maint:shadow", "pam": "linux-pam:linux-pam", "gnutls28": "gnu:gnutls", "libxml2": "xmlsoft:libxml2",
        "expat": "libexpat_project:libexpat", "pcre2": "pcre:pcre2", "ncurses": "gnu:ncurses", "perl": "perl:perl",
        "apt": "debian:apt", "dpkg": "debian:dpkg", "gnupg2": "gnupg:gnupg", "libgcrypt20": "gnupg:libgcrypt", "nettle": "nettle_project:nettle",
        "libzstd": "facebook:zstandard", "lz4": "lz4_project:lz4", "libseccomp": "libseccomp_project:libseccomp", "e2fsprogs": "e2fsprogs_project:e2fsprogs",
        "mawk": "mawk_project:mawk", "gmp": "gmplib:gmp", "libtasn1-6": "gnu:libtasn1", "p11-kit": "p11-kit_project:p11-kit", "sqlite3": "sqlite:sqlite",
    ]

    /// The NVD CPE 2.3 name of a component found by its version string (nil for packages, whose
    /// distribution names do not map onto CPE products reliably).
    public var cpe: String? {
        guard source == "binary", let product = Self.cpeProducts[name] else { return nil }
        return Self.cpe(product, version)
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
