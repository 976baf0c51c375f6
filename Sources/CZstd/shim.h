#ifndef RBSCAN_CZSTD_SHIM_H
#define RBSCAN_CZSTD_SHIM_H
#include <zstd.h>
#endif
