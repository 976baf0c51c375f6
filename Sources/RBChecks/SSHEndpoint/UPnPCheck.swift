import RBCore

/// `endpoint.upnp`: the swept host answered an SSDP `M-SEARCH`. Announcing an Internet Gateway
/// Device or its WANIPConnection/WANPPPConnection services (port mapping) fails at the rule's
/// severity; any other SSDP answer is reported as info (UPnP discovery on, no port mapping seen).
public struct UPnPCheck: Check {
    public struct Options: Decodable, Sendable {}

    public static let id = "endpoint.upnp"
    public static let summary = "Reports hosts that answer SSDP, failing those that announce UPnP port mapping (IGD)."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    public init(options: Options) throws(CheckOptionError) {}

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard context.target.spec.hasPrefix("host://"), let endpoint = context.target.endpoint,
              let ssdp = context.target.host?.ssdp, !ssdp.answers.isEmpty else { return [] }
        let uri = Endpoint(scheme: "ssdp", host: endpoint.host, port: ssdp.port).uri
        let types = Array(Set(ssdp.answers.map(\.st))).sorted()
        var facts = ["types": types.joined(separator: " "), "server": ssdp.answers.compactMap(\.server).first ?? ""]
        if let model = ssdp.description?["modelName"] { facts["modelName"] = model }
        if ssdp.announcesPortMapping {
            return [Observation(message: "\(uri) announces UPnP port mapping (Internet Gateway Device): \(types.filter { $0.contains("WAN") || $0.contains("Gateway") }.joined(separator: ", "))",
                                location: Location(path: uri), evidence: Evidence(key: "ssdp:igd", facts: facts))]
        }
        return [Observation(severity: .info, message: "\(uri) answers SSDP M-SEARCH (UPnP discovery on): \(types.prefix(4).joined(separator: ", "))",
                            location: Location(path: uri), evidence: Evidence(key: "ssdp", facts: facts))]
    }
}
