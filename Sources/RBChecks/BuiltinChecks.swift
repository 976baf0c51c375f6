import RBCore

/// Every built-in check, registered explicitly (Swift has no runtime discovery). A test fails
/// when a `Check` type in this module is missing here.
public enum BuiltinChecks {
    public static let all: [any Check.Type] = [
        ForbiddenFileCheck.self,
        RequiredFileCheck.self,
        FileModeCheck.self,
        ELFHardeningCheck.self,
        KernelConfigCheck.self,
        UBootEnvironmentCheck.self,
        InjectionSinkCheck.self,
        BootServiceCheck.self,
        DaemonPrivilegeCheck.self,
        PrivateKeyCheck.self,
        CredentialCheck.self,
        RegexCheck.self,
        KeyValueCheck.self,
        XPathCheck.self,
        JSONPathCheck.self,
        YAMLPathCheck.self,
        EmptyPasswordCheck.self,
        UIDZeroCheck.self,
        ServiceAccountCheck.self,
        WeakHashCheck.self,
        DuplicateHashCheck.self,
        DefaultPasswordCheck.self,
        SSHDConfigCheck.self,
        DropbearCheck.self,
        CredentialStoreCheck.self,
        DatabaseCredentialCheck.self,
        NormalisedKeyCheck.self,
        PresetPasswordCheck.self,
        CertificateStrengthCheck.self,
        CertificateValidityCheck.self,
        TLSProtocolCheck.self,
        TLSCipherSuiteCheck.self,
        TLSKeyExchangeCheck.self,
        TLSTrustCheck.self,
        SharedKeyCheck.self,
        SSHTransportCheck.self,
        ServiceCheck.self,
        HTTPResponseCheck.self,
        DeclaredPortsCheck.self,
        RTSPResponseCheck.self,
        SNMPCheck.self,
        UPnPCheck.self,
        DisclosureCheck.self,
        DefaultLoginCheck.self,
    ]

    public static let registry = CheckRegistry(all)
}
