import Foundation
import Testing
import RBCore
import RBScan
import RBTestSupport

/// FTP, TFTP, SSDP, WS-Discovery and ONVIF on a swept host, against real servers on 127.0.0.1
/// (pyftpdlib, tftp-hpa's in.tftpd) and the camera emulator for the protocols Debian ships no
/// server for (ONVIF device service, SSDP and WS-Discovery responders).
@Suite("Discovery, FTP/TFTP and ONVIF endpoints", .serialized)
struct DiscoveryEndpointTests {
    @Test("An open camera: anonymous FTP (high), TFTP, SSDP with IGD, ONVIF GetUsers without credentials, firmware and serial disclosed")
    func openCamera() async throws {
        let camera = try CameraEmulator(secure: false, igd: true)
        defer { camera.stop() }
        let ftp = try FTPTestServer(anonymous: true)
        defer { ftp.stop() }
        let tftp = try TFTPTestServer()
        defer { tftp.stop() }

        var limits = ScanLimits()
        limits.ports = [camera.httpPort, ftp.port]
        limits.udpPorts = [camera.ssdpPort, camera.wsdPort, tftp.port]
        let report = await ScanSession.run(ScanSession.Options(targets: ["127.0.0.1"], ruleDirectories: [Repository.rules], limits: limits))
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        let host = try #require(report.targets.first?.host)
        #expect(host.ports.map(\.service) == (camera.httpPort < ftp.port ? ["http", "ftp"] : ["ftp", "http"]), "\(host.ports)")
        #expect(host.ports.first { $0.service == "ftp" }?.anonymousLogin == true)
        let udp = Dictionary(uniqueKeysWithValues: host.udp.map { ($0.port, $0.service) })
        #expect(udp == [camera.ssdpPort: "ssdp", camera.wsdPort: "ws-discovery", tftp.port: "tftp"], "\(host.udp)")
        let ssdp = try #require(host.ssdp)
        #expect(ssdp.announcesPortMapping)
        #expect(ssdp.description?["modelName"] == "CAM-1")
        #expect(ssdp.description?["serialNumber"] == CameraEmulator.serial)
        let wsd = try #require(host.wsDiscovery)
        #expect(wsd.types == ["dn:NetworkVideoTransmitter"])
        #expect(wsd.xaddrs == ["http://127.0.0.1:\(camera.httpPort)/onvif/device_service"])
        #expect(wsd.scopes.contains("onvif://www.onvif.org/hardware/CAM-1"))

        let http = try #require(report.targets.first { $0.spec == "http://127.0.0.1:\(camera.httpPort)" }?.http)
        let onvif = try #require(http.onvif)
        #expect(onvif.usernames == ["admin", "operator"])
        #expect(onvif.deviceInformation["FirmwareVersion"] == CameraEmulator.firmware)

        func findings(_ rule: String) -> [(String, Severity)] {
            report.findings.filter { $0.ruleID == rule }.map { ($0.location.path, $0.severity) }.sorted { $0.0 < $1.0 }
        }
        let ifc002 = findings("RB-IFC-002")
        #expect(ifc002.map(\.0) == ["ftp://127.0.0.1:\(ftp.port)", "tftp://127.0.0.1:\(tftp.port)"], "\(ifc002)")
        #expect(ifc002.map(\.1) == [.high, .medium])
        #expect(findings("RB-IFC-009").map(\.0) == ["ssdp://127.0.0.1:\(camera.ssdpPort)"])
        #expect(findings("RB-IFC-009").map(\.1) == [.low])
        #expect(findings("RB-AUTH-005").map(\.0) == ["http://127.0.0.1:\(camera.httpPort)"])
        #expect(findings("RB-AUTH-005").map(\.1) == [.critical])
        let disclosure = report.findings.filter { $0.ruleID == "RB-SEN-004" }
        #expect(Set(disclosure.map(\.evidence.key)) == ["firmware:body:/", "onvif:FirmwareVersion", "onvif:SerialNumber", "upnp:serialNumber",
                                                        "banner:ssdp:server", "wsd:hardware"], "\(disclosure.map(\.message))")
        // The serial number never appears in clear in the evidence.
        #expect(!disclosure.contains { ($0.evidence.snippet ?? "").contains(CameraEmulator.serial) })
        #expect(report.exitStatus == .gateFailed)
    }

    @Test("A secured camera: ONVIF refuses without credentials (no RB-AUTH-005), FTP without anonymous is medium, XAddrs add the ONVIF port")
    func securedCamera() async throws {
        let camera = try CameraEmulator(secure: true)
        defer { camera.stop() }
        let ftp = try FTPTestServer(anonymous: false, users: [("admin", "not-default-7")])
        defer { ftp.stop() }

        var limits = ScanLimits()
        // The web port is left out of the TCP sweep: WS-Discovery's XAddrs bring it in.
        limits.ports = [ftp.port]
        limits.udpPorts = [camera.wsdPort]
        let report = await ScanSession.run(ScanSession.Options(targets: ["127.0.0.1"], ruleDirectories: [Repository.rules], limits: limits))
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        #expect(report.targets.map(\.spec) == ["host://127.0.0.1", "http://127.0.0.1:\(camera.httpPort)"])
        let host = try #require(report.targets.first?.host)
        #expect(host.ports.first?.anonymousLogin == false)
        let onvif = try #require(report.targets.last?.http?.onvif)
        #expect(onvif.getUsers.status == 400 && onvif.getUsers.fault == "ter:NotAuthorized")
        #expect(onvif.usernames.isEmpty && onvif.deviceInformation.isEmpty)
        #expect(onvif.defaultLogin == nil)
        #expect(report.findings.filter { $0.ruleID == "RB-AUTH-005" }.isEmpty)
        #expect(report.findings.filter { $0.ruleID == "RB-IFC-002" }.map(\.severity) == [.medium])
        // Only the model name in the scopes (info); no firmware, no serial.
        #expect(report.findings.filter { $0.ruleID == "RB-SEN-004" }.map(\.severity) == [.info])
    }
}
