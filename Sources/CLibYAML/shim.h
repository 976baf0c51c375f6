#ifndef RBSCAN_CLIBYAML_SHIM_H
#define RBSCAN_CLIBYAML_SHIM_H
/* libyaml's event parser: BoundedYAML counts what aliases expand to before Yams composes a
   document (Yams vendors its own libyaml 0.2.5; the yaml_parser_* calls bind to that copy). */
#include <yaml.h>
#endif
