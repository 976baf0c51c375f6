import RBCore
@testable import RBChecks
import Testing

/// The pieces of the SBOM's package data that are parsed from Debian's own formats: copyright
/// files (licences) and dependency fields. The whole inventory is checked end to end on this
/// machine's real dpkg database in CLITests.
@Suite("Component inventory: licences and dependencies")
struct PackageMetadataTests {
    @Test("A machine-readable copyright file gives every License: name, SPDX where DEP-5 defines the same licence")
    func machineReadableCopyright() {
        let text = """
            Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
            Upstream-Name: example

            Files: *
            Copyright: 2001 A
            License: GPL-2+

            Files: lib/*
            Copyright: 2002 B
            License: GPL-1+ or Artistic
             The text of the licence follows (License: Expat in a paragraph body is not a field).

            Files: parse.c
            License: GPL-3+ with Bison exception

            Files: doc/*
            License: public-domain and BSD-3-clause

            License: GPL-2+
             On Debian systems the full text is in /usr/share/common-licenses/GPL-2.
            """
        #expect(DebianCopyright.licenses(text) == ["Artistic-1.0-Perl", "BSD-3-Clause", "GPL-1.0-or-later", "GPL-2.0-or-later",
                                                   "GPL-3+ with Bison exception", "public-domain"])
    }

    @Test("A free-form copyright file gives the common-licenses texts it points at")
    func freeFormCopyright() {
        let text = """
            This is the Debian prepackaged version of the GNU C Library.

            On Debian systems, the complete text of the GNU Library General Public License can
            be found in `/usr/share/common-licenses/LGPL-2.1'.
            The GPL is in /usr/share/common-licenses/GPL-2.
            """
        #expect(DebianCopyright.licenses(text) == ["GPL-2.0-only", "LGPL-2.1-only"])
        #expect(DebianCopyright.licenses("Copyright 1999 someone. All rights reserved.\n").isEmpty)
    }

    @Test("Every SPDX identifier the copyright mapping produces is one the SBOM writes as an id")
    func mappingStaysInTheSPDXList() {
        let produced = Component.debianLicenceNames.values.map { $0 } + Component.debianLicenceStems.keys.flatMap { stem in
            [DebianCopyright.spdx(Substring(stem)), DebianCopyright.spdx(Substring(stem + "+"))]
        }
        #expect(produced.allSatisfy(Component.spdxIdentifiers.contains), "\(produced.filter { !Component.spdxIdentifiers.contains($0) })")
    }

    @Test("Dependency fields: alternatives, version constraints, architecture qualifiers and restrictions are reduced to names")
    func dependencyNames() {
        #expect(ComponentInventory.alternatives("libc6 (>= 2.34) | libc6.1:any") == ["libc6", "libc6.1"])
        #expect(ComponentInventory.packageName("perl:any (>= 5.36) [amd64] <!nocheck>") == "perl")
        #expect(ComponentInventory.packageName(" debconf ") == "debconf")
    }

    @Test("Debian version parts: epoch, upstream version, revision")
    func versionParts() {
        #expect(Component.upstreamVersion("2:6.2.1+dfsg1-1.1") == "6.2.1+dfsg1")
        #expect(Component.epoch("2:6.2.1+dfsg1-1.1") == "2")
        #expect(Component.debianRevision("2.36-9+deb12u4") == "9+deb12u4")
        #expect(Component.upstreamVersion("3.134") == "3.134" && Component.debianRevision("3.134") == nil && Component.epoch("3.134") == nil)
    }
}
