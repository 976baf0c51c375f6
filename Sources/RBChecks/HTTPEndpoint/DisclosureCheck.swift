import RBCore

/// `endpoint.disclosure`: what unauthenticated answers give away (RB-SEN-004). Sources: the web
/// root and a 404 page (headers and body), the ONVIF GetDeviceInformation answered without
/// credentials, the RTSP `Server` header, the SSDP `SERVER` header and UPnP device description,
/// and the WS-Discovery scopes.
/// - a firmware version or build matching one of the profile's `firmwarePatterns`, or a serial
///   number (ONVIF `SerialNumber`, UPnP `serialNumber`, a `serial` scope) → the rule's severity;
/// - a version token in `Server`, `X-Powered-By` or another header on OSHP's remove list → low;
/// - the model name alone (ONVIF `Model`, UPnP `modelName`, a `hardware` scope) → info.
public struct DisclosureCheck: Check {
    public struct Options: Decodable, Sendable {}

    public static let id = "endpoint.disclosure"
    public static let summary = "Reports firmware versions, serial numbers and version banners in unauthenticated answers."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    /// Headers OSHP's headers_remove list names as information disclosure.
    static let bannerHeaders = ["server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-generator", "x-runtime",
                                "x-version", "x-powered-cms", "x-server", "x-sourcefiles", "liferay-portal", "x-drupal-cache"]

    public init(options: Options) throws(CheckOptionError) {}

    public func run(in context: CheckContext) async throws -> [Observation] {
        let target = context.target
        guard let endpoint = target.endpoint else { return [] }
        let patterns = (target.profile?.firmwarePatterns ?? DeviceProfile.defaultFirmwarePatterns).compactMap { pattern -> Regex? in
            do { return try Regex(pattern) } catch {
                context.report("profile firmware pattern \(pattern): \(error)")
                return nil
            }
        }
        var observations: [Observation] = []
        var seen = Set<String>()
        let spec = target.spec
        func add(_ severity: Severity?, _ message: String, _ key: String, _ value: String, at uri: String = spec) {
            guard seen.insert(key).inserted else { return }
            observations.append(Observation(severity: severity, message: "\(uri) \(message)", location: Location(path: uri),
                                            evidence: Evidence(key: key, snippet: Snippet.make(value))))
        }
        /// A firmware pattern's match in `text`, if any.
        func firmware(_ text: String) -> String? {
            let bytes = Array(text.utf8)
            for regex in patterns {
                if let match = regex.matches(in: bytes, limit: 1).first { return String(decoding: bytes[match.range], as: UTF8.self) }
            }
            return nil
        }
        func banner(_ source: String, _ name: String, _ value: String) {
            if let found = firmware(value) {
                add(nil, "gives its firmware version without authentication in \(source) \(name): \(found)", "firmware:\(source):\(name)", value)
            } else if Self.hasVersionToken(value) {
                add(.low, "names software versions without authentication in \(source) \(name): \(value.prefix(80))", "banner:\(source):\(name)", value)
            }
        }

        if let http = target.http {
            for (label, page) in [("/", Optional(http.root)), ("a 404 page", http.notFound)] {
                guard let page else { continue }
                for pair in page.headers where pair.count == 2 && Self.bannerHeaders.contains(pair[0].lowercased()) {
                    banner("the \(pair[0]) header of", label, pair[1])
                }
                if let found = firmware(page.text) {
                    add(nil, "gives its firmware version without authentication in the body of \(label): \(found)", "firmware:body:\(label)", found)
                }
            }
            if let onvif = http.onvif {
                let info = onvif.deviceInformation
                if let version = info["FirmwareVersion"] {
                    add(nil, "ONVIF GetDeviceInformation answers without authentication with FirmwareVersion \(version)", "onvif:FirmwareVersion", version)
                }
                if let serial = info["SerialNumber"] {
                    add(nil, "ONVIF GetDeviceInformation answers without authentication with a SerialNumber", "onvif:SerialNumber", Mask.secret(serial))
                }
                if let model = info["Model"], info["FirmwareVersion"] == nil, info["SerialNumber"] == nil {
                    add(.info, "ONVIF GetDeviceInformation names the model without authentication: \(model)", "onvif:Model", model)
                }
            }
        }
        if let rtsp = target.rtsp, let server = rtsp.server {
            banner("the RTSP Server header of", "OPTIONS", server)
        }
        if spec.hasPrefix("host://"), let host = target.host {
            if let ssdp = host.ssdp {
                let uri = Endpoint(scheme: "ssdp", host: endpoint.host, port: ssdp.port).uri
                if let server = ssdp.answers.compactMap(\.server).first {
                    if let found = firmware(server) {
                        add(nil, "gives its firmware version in the SSDP SERVER header: \(found)", "firmware:ssdp:server", server, at: uri)
                    } else if Self.hasVersionToken(server) {
                        add(.low, "names software versions in the SSDP SERVER header: \(server.prefix(80))", "banner:ssdp:server", server, at: uri)
                    }
                }
                let description = ssdp.description ?? [:]
                if let serial = description["serialNumber"], !serial.isEmpty {
                    add(nil, "gives its serial number in the UPnP device description", "upnp:serialNumber", Mask.secret(serial), at: uri)
                }
                for (field, value) in description.sorted(by: { $0.key < $1.key }) where ["modelNumber", "modelDescription", "friendlyName"].contains(field) {
                    if let found = firmware(value) {
                        add(nil, "gives its firmware version in the UPnP device description (\(field)): \(found)", "firmware:upnp:\(field)", value, at: uri)
                    }
                }
                if let model = description["modelName"], description["serialNumber"] == nil {
                    add(.info, "names its model in the UPnP device description: \(model)", "upnp:modelName", model, at: uri)
                }
            }
            if let wsd = host.wsDiscovery {
                let uri = Endpoint(scheme: "ws-discovery", host: endpoint.host, port: wsd.port).uri
                for scope in wsd.scopes {
                    let lower = scope.lowercased()
                    if let found = firmware(scope) {
                        add(nil, "gives its firmware version in a WS-Discovery scope: \(found)", "firmware:wsd", scope, at: uri)
                    } else if lower.contains("/serial") {
                        add(nil, "gives its serial number in a WS-Discovery scope", "wsd:serial", Mask.secret(scope), at: uri)
                    } else if lower.contains("onvif.org/hardware/") {
                        add(.info, "names its model in a WS-Discovery scope: \(scope)", "wsd:hardware", scope, at: uri)
                    }
                }
            }
        }
        return observations
    }

    /// `lighttpd/1.4.59`, `Boa/0.94.14rc21`, `PHP/7.4.3`, `Apache 2.4.41`: a product version.
    /// Protocol versions (`UPnP/1.0`, `HTTP/1.1`, `RTSP/1.0`, `DLNADOC/1.50`) do not count.
    static func hasVersionToken(_ value: String) -> Bool {
        let protocols = ["upnp/", "http/", "rtsp/", "dlnadoc/", "soap/"]
        for token in value.split(whereSeparator: { " \t,;()[]".contains($0) }) {
            let lower = token.lowercased()
            if protocols.contains(where: { lower.hasPrefix($0) }) { continue }
            let characters = Array(lower)
            for i in characters.indices.dropLast(2) where characters[i].isNumber && characters[i + 1] == "." && characters[i + 2].isNumber {
                var j = i
                while j > 0, characters[j - 1].isNumber || characters[j - 1] == "." { j -= 1 }
                // At the token start (`2.4.41`) or after `/`, `v`, `_`, `-` (`nginx/1.18`, `v2.3`).
                if j == 0 || "/v_-".contains(characters[j - 1]) { return true }
            }
        }
        return false
    }
}
