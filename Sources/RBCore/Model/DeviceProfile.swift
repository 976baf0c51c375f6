/// A device profile (catalog §0.4): what a vendor or model declares about its interfaces and
/// web API, for the endpoint rules that compare what is open or answered with what should be.
/// `Profiles/generic-camera.yaml` ships as the default; `--profile FILE` names another.
public struct DeviceProfile: Sendable, Equatable {
    public static let supportedVersion = 1

    public struct Interface: Decodable, Sendable, Equatable {
        public var port: UInt16
        public enum Proto: String, Decodable, Sendable { case tcp, udp }
        /// `tcp` (default) or `udp`.
        public var proto: Proto?
        public var service: String
        /// Whether the interface is open in the factory-default state (default true).
        public var enabledByDefault: Bool?
        public var purpose: String?
    }

    public struct Credential: Decodable, Sendable, Equatable {
        public var user: String
        public var password: String
        public init(user: String, password: String) {
            self.user = user
            self.password = password
        }
    }

    /// A publicly known key that vendor firmware uses for configuration exports (RB-SEN-007).
    public struct ExportKey: Decodable, Sendable, Equatable {
        public var name: String?
        /// The AES key, hex (16, 24 or 32 bytes).
        public var aes: String
        /// A XOR mask applied after AES, hex (optional).
        public var xor: String?
        public init(name: String?, aes: String, xor: String? = nil) {
            self.name = name
            self.aes = aes
            self.xor = xor
        }
    }

    public struct SensitivePath: Decodable, Sendable, Equatable {
        public var path: String
        /// A string whose presence in a 200 answer proves the data was served (`<DeviceInfo`,
        /// `<UserList`); `jpeg` means a JPEG start-of-image.
        public var marker: String
    }

    public var id: String
    public var title: String
    public var file: String
    public var interfaces: [Interface]
    public var sensitivePaths: [SensitivePath]
    /// RTSP stream paths DESCRIBEd without credentials (nil: common camera paths).
    public var rtspPaths: [String]?
    /// Public default credentials tried with `--allow-auth-tests` (at most 3 are used).
    public var defaultCredentials: [Credential] = []
    /// ONVIF device service paths asked without credentials (RB-AUTH-005) when WS-Discovery
    /// names none.
    public var onvifPaths: [String] = ["/onvif/device_service"]
    /// Regular expressions (PCRE) for a firmware version or build string that no unauthenticated
    /// answer may carry (RB-SEN-004).
    public var firmwarePatterns: [String] = DeviceProfile.defaultFirmwarePatterns
    /// HTTP paths (a trailing `/` or `*` makes a prefix) the vendor documents: the firmware's
    /// other web endpoints are undocumented (RB-IFC-007). The sensitive paths and ONVIF paths
    /// count as documented too.
    public var documentedPaths: [String] = DeviceProfile.defaultDocumentedPaths
    /// Publicly known configuration-export keys tried on encrypted configurations (RB-SEN-007).
    public var exportKeys: [ExportKey] = []

    /// The ONVIF services' standard paths, and OpenWrt's LuCI and ubus.
    public static let defaultDocumentedPaths = ["/onvif/device_service", "/onvif/media_service", "/onvif/media2_service",
                                                "/onvif/ptz_service", "/onvif/event_service", "/onvif/imaging_service",
                                                "/onvif/analytics_service", "/onvif/deviceio_service", "/onvif/recording_service",
                                                "/onvif/search_service", "/onvif/replay_service", "/onvif/snapshot",
                                                "/onvif-http/snapshot",
                                                // OpenWrt's documented management interfaces: the LuCI web UI
                                                // and uhttpd's ubus JSON-RPC (openwrt.org/docs/techref/ubus).
                                                "/cgi-bin/luci", "/ubus"]

    /// Every documented path or prefix: `documentedPaths`, the sensitive paths and ONVIF paths.
    public var allDocumentedPaths: [String] {
        documentedPaths + sensitivePaths.map(\.path) + onvifPaths
    }

    /// Whether `path` is documented (equal to a documented path, or under a documented prefix).
    public static func isDocumented(_ path: String, by documented: [String]) -> Bool {
        documented.contains { entry in
            if entry.hasSuffix("*") { return path.hasPrefix(entry.dropLast()) }
            if entry.hasSuffix("/") { return path.hasPrefix(entry) }
            return path == entry || path.hasPrefix(entry + "?")
        }
    }

    /// Hikvision-style `V5.5.0 build 170725`, Dahua-style `2.622.0000000.31.R, Build Date: 2019-03-14`,
    /// and generic `firmware: 1.2.3` / `fw_version=1.2.3`.
    public static let defaultFirmwarePatterns = [#"V\d+\.\d+\.\d+\s*build\s*\d{6}"#, #"\d+\.\d+\.\d+\.\d+\.\d+\.R\b"#,
                                                 #"(?i)(firmware|fw)[ _-]?(version)?["'\s:=]+v?\d+\.\d+(\.\d+)+"#]

    struct Document: Decodable {
        var version: Int
        var profile: String
        var title: String
        var description: String?
        var interfaces: [Interface]
        var sensitivePaths: [SensitivePath]?
        var rtspPaths: [String]?
        var defaultCredentials: [Credential]?
        var onvifPaths: [String]?
        var firmwarePatterns: [String]?
        var documentedPaths: [String]?
        var exportKeys: [ExportKey]?
    }

    public init(id: String, title: String, file: String, interfaces: [Interface], sensitivePaths: [SensitivePath], rtspPaths: [String]? = nil) {
        self.id = id
        self.title = title
        self.file = file
        self.interfaces = interfaces
        self.sensitivePaths = sensitivePaths
        self.rtspPaths = rtspPaths
    }

    /// Loads and validates a profile file; errors name file:line.
    public static func load(file: String) throws(DiagnosticError) -> DeviceProfile {
        let (document, _) = try NodeDecoder.decodeVersioned(Document.self, text: NodeDecoder.readDocument(file, kind: "profile"),
                                                            file: file, kind: "profile", supported: supportedVersion) { $0.version }
        var profile = DeviceProfile(id: document.profile, title: document.title, file: file, interfaces: document.interfaces,
                                    sensitivePaths: document.sensitivePaths ?? [], rtspPaths: document.rtspPaths)
        profile.defaultCredentials = Array((document.defaultCredentials ?? []).prefix(3))
        if let paths = document.onvifPaths { profile.onvifPaths = paths }
        if let patterns = document.firmwarePatterns { profile.firmwarePatterns = patterns }
        if let paths = document.documentedPaths { profile.documentedPaths = paths }
        if let keys = document.exportKeys {
            for (i, key) in keys.enumerated() {
                let digits = key.aes.count
                guard [32, 48, 64].contains(digits), key.aes.allSatisfy(\.isHexDigit),
                      (key.xor ?? "").count % 2 == 0, (key.xor ?? "").allSatisfy(\.isHexDigit) else {
                    throw DiagnosticError(Diagnostic(.error, .configuration, code: "profile.invalid",
                        "exportKeys[\(i)]: aes must be 32, 48 or 64 hex digits and xor an even number of hex digits", at: SourceLocation(file: file)))
                }
            }
            profile.exportKeys = keys
        }
        return profile
    }

    /// The declared interface on `port` over `proto` (`tcp` or `udp`), if any.
    public func interface(_ port: UInt16, proto: String) -> Interface? {
        interfaces.first { $0.port == port && ($0.proto ?? .tcp).rawValue == proto }
    }
}
