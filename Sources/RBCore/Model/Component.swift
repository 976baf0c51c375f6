/// One software component found in a firmware tree.
public struct Component: Sendable, Hashable, Codable {
    public var name: String
    public var version: String
    /// `dpkg`, `opkg` (a package database) or `binary` (a version string in a file).
    public var source: String
    /// The file the version was read from.
    public var path: String

    public init(name: String, version: String, source: String, path: String) {
        self.name = name
        self.version = version
        self.source = source
        self.path = path
    }
}

