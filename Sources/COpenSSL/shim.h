#ifndef RBSCAN_COPENSSL_SHIM_H
#define RBSCAN_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/crypto.h>
#endif
