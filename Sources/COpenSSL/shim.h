#ifndef RBSCAN_COPENSSL_SHIM_H
#define RBSCAN_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/pkcs12.h>
#include <openssl/cms.h>
#include <openssl/rsa.h>
#include <openssl/param_build.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>

#include <openssl/provider.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* Single DES (vendor firmware and config obfuscation with published keys) lives in OpenSSL 3's
   legacy provider: fetched from a private library context so the process-wide defaults (TLS
   probes) are untouched. Returns NULL when the legacy provider is not installed. */
static inline EVP_CIPHER *rb_des_ecb_fetch(void) {
    OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
    if (ctx == NULL) return NULL;
    if (OSSL_PROVIDER_load(ctx, "legacy") == NULL || OSSL_PROVIDER_load(ctx, "default") == NULL) return NULL;
    return EVP_CIPHER_fetch(ctx, "DES-ECB", NULL);
}

/* Macros and NID aliases Swift cannot import. */
static inline int rb_pkey_rsa(void) { return EVP_PKEY_RSA; }
static inline int rb_pkey_ec(void) { return EVP_PKEY_EC; }
static inline int rb_pkey_dsa(void) { return EVP_PKEY_DSA; }
static inline int rb_pkey_ed25519(void) { return EVP_PKEY_ED25519; }
static inline int rb_pkey_ed448(void) { return EVP_PKEY_ED448; }
static inline int rb_x509_v_ok(void) { return X509_V_OK; }
static inline int rb_rsa_pkcs1_padding(void) { return RSA_PKCS1_PADDING; }
static inline int rb_rsa_pss_padding(void) { return RSA_PKCS1_PSS_PADDING; }
static inline int rb_rsa_pss_saltlen_auto(void) { return RSA_PSS_SALTLEN_AUTO; }

/* An RSA public key from its big-endian modulus and exponent (U-Boot's rsa,modulus / rsa,exponent). */
static inline EVP_PKEY *rb_rsa_public_key(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen) {
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (bn && be && bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn)
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL
        && EVP_PKEY_fromdata_init(ctx) == 1)
        (void)EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params); OSSL_PARAM_BLD_free(bld); EVP_PKEY_CTX_free(ctx); BN_free(bn); BN_free(be);
    return pkey;
}

/* An EC public key from a named curve and the uncompressed point 04||x||y. */
static inline EVP_PKEY *rb_ec_public_key(const char *curve, const unsigned char *point, size_t len) {
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, len);
    params[2] = OSSL_PARAM_construct_end();
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) (void)EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* A raw ECDSA signature r||s (as U-Boot stores it) in DER; the DER length, or -1. */
static inline int rb_ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char *out, int outlen) {
    if (len == 0 || len % 2) return -1;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL), *s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) { BN_free(r); BN_free(s); ECDSA_SIG_free(sig); return -1; }
    int n = i2d_ECDSA_SIG(sig, NULL);
    if (n <= 0 || n > outlen) { ECDSA_SIG_free(sig); return -1; }
    unsigned char *p = out;
    n = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    return n;
}
#endif
