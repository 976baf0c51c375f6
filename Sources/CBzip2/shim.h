#ifndef RBSCAN_CBZIP2_SHIM_H
#define RBSCAN_CBZIP2_SHIM_H
#include <stdio.h>
#include <bzlib.h>
#endif
