import RBCrypto
import Testing

@Suite("Ciphers: NIST SP 800-38A AES and the classic DES vector")
struct CipherTests {
    static func hex(_ text: String) -> [UInt8] { Hex.decode(text) ?? [] }

    static let plaintext = hex("6bc1bee22e409f96e93d7e117393172a")

    @Test("AES-128/192/256-ECB decrypt SP 800-38A F.1's first block")
    func ecb() {
        #expect(AES.decrypt(Self.hex("3ad77bb40d7a3660a89ecaf32466ef97"), key: Self.hex("2b7e151628aed2a6abf7158809cf4f3c"), mode: .ecb) == Self.plaintext)
        #expect(AES.decrypt(Self.hex("bd334f1d6e45f25ff712a214571fa5cc"), key: Self.hex("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b"), mode: .ecb) == Self.plaintext)
        #expect(AES.decrypt(Self.hex("f3eed1bdb5d2a03c064b5a7e3db181f8"),
                            key: Self.hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"), mode: .ecb) == Self.plaintext)
    }

    @Test("AES-128-CBC decrypts SP 800-38A F.2.2's first two blocks; bad lengths give nil")
    func cbc() {
        let key = Self.hex("2b7e151628aed2a6abf7158809cf4f3c"), iv = Self.hex("000102030405060708090a0b0c0d0e0f")
        let ciphertext = Self.hex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2")
        #expect(AES.decrypt(ciphertext, key: key, mode: .cbc(iv: iv)) == Self.plaintext + Self.hex("ae2d8a571e03ac9c9eb76fac45af8e51"))
        #expect(AES.decrypt(Array(ciphertext.dropLast()), key: key, mode: .cbc(iv: iv)) == nil)
        #expect(AES.decrypt(ciphertext, key: key, mode: .cbc(iv: Array(iv.dropLast()))) == nil)
        #expect(AES.decrypt(ciphertext, key: Array(key.dropLast()), mode: .ecb) == nil)
    }

    @Test("DES-ECB (legacy provider): 85E813540F0AB405 under 133457799BBCDFF1 is 0123456789ABCDEF")
    func des() {
        let key = Self.hex("133457799bbcdff1")
        #expect(DES.decryptECB(Self.hex("85e813540f0ab405"), key: key) == Self.hex("0123456789abcdef"))
        // A partial block is zero-padded to a whole one.
        #expect(DES.decryptECB(Self.hex("85e8"), key: key)?.count == 8)
        #expect(DES.decryptECB(Self.hex("85e813540f0ab405"), key: Array(key.dropLast())) == nil)
    }
}
