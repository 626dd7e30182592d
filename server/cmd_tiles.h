/* zsmap render and zsmap seed: tiles and static maps from the command line. */
#ifndef ZS_CMD_TILES_H
#define ZS_CMD_TILES_H

#include "cli.h"

extern const cli_option render_options[];
extern const cli_option seed_options[];

int cmd_render(const char **values, const char *positional);
int cmd_seed(const char **values, const char *positional);

#endif
