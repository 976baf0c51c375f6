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
}

