#ifndef RBSCAN_CZLIB_SHIM_H
#define RBSCAN_CZLIB_SHIM_H
#include <zlib.h>
#endif
