/// The bundled dictionary of IoT and vendor default credentials, assembled from public lists:
/// - the Mirai botnet's scanner table (source published 2016: `scanner.c`, 62 pairs, e.g.
///   root/xc3511, root/vizxv, root/888888, root/xmhdipc, root/juantech, admin/admin, root/12345);
/// - vendor manuals and advisories for cameras and NVRs: Hikvision admin/12345 (before 2015
///   activation), Dahua admin/admin and 888888/666666, Axis root/pass, Uniview and ACTi
///   admin/123456, Samsung/Hanwha admin/4321, Panasonic admin/12345, Bosch service/service,
///   Ubiquiti ubnt/ubnt, HiSilicon SoC defaults (hi3518, xmhdipc, klv123);
/// - the most common weak passwords of public breach-derived top lists (123456, password, …).
/// Pairs are tried first for their user; every password is then tried for every account.
enum DefaultCredentials {
    /// (user, password); user "*" means any account.
    static let pairs: [(user: String, password: String)] = [
        // Mirai scanner table
        ("root", "xc3511"), ("root", "vizxv"), ("root", "admin"), ("admin", "admin"), ("root", "888888"),
        ("root", "xmhdipc"), ("root", "default"), ("root", "juantech"), ("root", "123456"), ("root", "54321"),
        ("support", "support"), ("root", ""), ("admin", "password"), ("root", "root"), ("root", "12345"),
        ("user", "user"), ("admin", ""), ("root", "pass"), ("admin", "admin1234"), ("root", "1111"),
        ("admin", "smcadmin"), ("admin", "1111"), ("root", "666666"), ("root", "password"), ("root", "1234"),
        ("root", "klv123"), ("Administrator", "admin"), ("service", "service"), ("supervisor", "supervisor"),
        ("guest", "guest"), ("guest", "12345"), ("admin1", "password"), ("administrator", "1234"),
        ("666666", "666666"), ("888888", "888888"), ("ubnt", "ubnt"), ("root", "klv1234"), ("root", "Zte521"),
        ("root", "hi3518"), ("root", "jvbzd"), ("root", "anko"), ("root", "zlxx."), ("root", "7ujMko0vizxv"),
        ("root", "7ujMko0admin"), ("root", "system"), ("root", "ikwb"), ("root", "dreambox"), ("root", "user"),
        ("root", "realtek"), ("root", "00000000"), ("admin", "1111111"), ("admin", "1234"), ("admin", "12345"),
        ("admin", "54321"), ("admin", "123456"), ("admin", "7ujMko0admin"), ("admin", "pass"), ("admin", "meinsm"),
        ("tech", "tech"), ("mother", "fucker"),
        // Camera and NVR vendors
        ("admin", "888888"), ("admin", "666666"), ("888888", "888888"), ("666666", "666666"), ("root", "pass"),
        ("admin", "4321"), ("admin", "9999"), ("admin", "admin123"), ("admin", "Admin123"), ("root", "ipcam"),
        ("root", "vhd1206"), ("root", "hikvision"), ("admin", "hikvision"), ("root", "cat1029"), ("root", "GM8182"),
        ("root", "ivdev"), ("root", "tlJwpbo6"), ("root", "hslwificam"), ("root", "dvr2580222"), ("root", "123"),
        ("default", "default"), ("default", ""), ("admin", "default"), ("root", "toor"), ("operator", "operator"),
        ("root", "calvin"), ("ftp", "ftp"), ("admin", "system"), ("admin", "changeme"),
    ]

    /// Common weak passwords tried for every account after the pairs.
    static let common: [String] = [
        "123456", "12345", "password", "admin", "root", "1234", "12345678", "123456789", "1234567890", "111111",
        "000000", "888888", "666666", "qwerty", "abc123", "123123", "admin123", "root123", "toor", "default",
        "guest", "user", "support", "service", "test", "test123", "changeme", "pass", "passw0rd", "P@ssw0rd",
        "letmein", "welcome", "master", "1111", "11111111", "54321", "4321", "123", "system", "camera", "ipcam",
        "security", "manager", "linux", "ubuntu", "raspberry", "alpine", "openwrt", "password1", "admin1",
    ]

    /// The candidate list for one account: the empty password, its name, its paired defaults,
    /// then every other default and common password, then `extra`; each once.
    static func candidates(for user: String, extra: [String]) -> [String] {
        var seen = Set<String>()
        var list: [String] = []
        func add(_ candidate: String) { if seen.insert(candidate).inserted { list.append(candidate) } }
        add("")
        add(user)
        for pair in pairs where pair.user == user { add(pair.password) }
        for password in common { add(password) }
        for pair in pairs { add(pair.password) }
        add(String(user.reversed()))
        add(user + user)
        add(user + "123")
        for password in extra { add(password) }
        return list
    }
}
