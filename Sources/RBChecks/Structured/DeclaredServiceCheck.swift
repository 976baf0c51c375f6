import RBCore

/// `config.declared-service`: a service a configuration turns on (`service.ssh.enabled`, read
/// through the config adapters like `config.normalised`), compared with the device profile's
/// declared interfaces, the config-side counterpart of `endpoint.declared-ports`: on while the
/// profile does not declare it, or declares it off by default, fails. A service the profile
/// declares on by default passes; without a profile the result is review.
public struct DeclaredServiceCheck: Check {
    public struct Options: Decodable, Sendable {
        /// The normalised key that says whether the service is on (`service.ssh.enabled`).
        var key: String
        /// The profile's service names that stand for it (`[ssh]`).
        var services: [String]
        /// A human name for messages (`SSH`); default: the first service name.
        var name: String?
    }

    public static let id = "config.declared-service"
    public static let summary = "Compares a service a configuration enables with the device profile's declared interfaces."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let options: Options
    let enabled: NormalisedKeyCheck

    public init(options: Options) throws(CheckOptionError) {
        guard !options.services.isEmpty else { throw CheckOptionError(key: "services", "at least one profile service name") }
        self.options = options
        // The key check finds every file where the service is on (any value that is not off).
        enabled = try NormalisedKeyCheck(options: .init(
            key: options.key, expect: Expectation(.in, ["false", "0", "no", "off", "disabled", "disable"], ignoreCase: true),
            missing: .pass, message: nil, when: nil, firmwareExclude: nil))
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        let on = try await enabled.run(in: context).filter { $0.status == .fail }
        guard !on.isEmpty else { return [] }
        let name = options.name ?? options.services[0]
        let wanted = Set(options.services.map { $0.lowercased() })
        guard let profile = context.target.profile else {
            return on.map { found in
                var observation = found
                observation.status = .review
                observation.message = "\(name) is enabled (\(options.key) = \(found.evidence.facts["value"] ?? "?")); no device profile says whether it should be (--profile)"
                return observation
            }
        }
        let declared = profile.interfaces.filter { wanted.contains($0.service.lowercased()) }
        // Declared and on by default (unset means on): the configuration matches the manifest.
        if declared.contains(where: { $0.enabledByDefault ?? true }) { return [] }
        let why = declared.isEmpty ? "profile \(profile.id) does not declare it"
            : "profile \(profile.id) declares it off by default (\(declared.map { "\($0.proto?.rawValue ?? "tcp")/\($0.port)" }.joined(separator: ", ")))"
        return on.map { found in
            var observation = found
            observation.message = "\(name) is enabled (\(options.key) = \(found.evidence.facts["value"] ?? "?")), but \(why)"
            observation.evidence.facts["profile"] = profile.id
            return observation
        }
    }
}
