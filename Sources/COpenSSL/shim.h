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
#endif
