/* zsmap serve: the HTTP server. */
#ifndef ZS_CMD_SERVE_H
#define ZS_CMD_SERVE_H

#include "cli.h"

extern const cli_option serve_options[];

int cmd_serve(const char **values, const char *positional);

#endif
