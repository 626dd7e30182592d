/* Settings files for a subcommand (`zsmap serve --config FILE`): one
 * `key = value` per line, where the keys are the long names in the
 * command's options table, so the table that drives the flags and --help
 * drives the file too. The command line wins over the file; the file fills
 * what the command line left unset.
 *
 * Syntax, UTF-8 text:
 *   # a comment; blank lines are ignored
 *   key = value          # the value is trimmed; '#' starts a comment
 *   key = "  value # "   # double quotes keep spaces and '#'; \" and \\ escape
 *   flag = true          # flags: true/false, yes/no, on/off, 1/0
 * A line is at most CONFIG_LINE_MAX bytes; CRLF endings and a leading BOM
 * are accepted. Every error names the file, the line and the problem. */
#ifndef ZS_CONFIG_H
#define ZS_CONFIG_H

#include "cli.h"
#include "error.h"

#define CONFIG_LINE_MAX 4096 /* bytes, without the line ending */

/* The option that names the file; it cannot be set inside a file. */
#define CONFIG_OPTION "config"

/* What a loaded file owns: the strings it lent to the values array. */
typedef struct config_file config_file;

/* Reads the settings file at path (borrowed) against options (the command's
 * table, ending with {0}). values[i] belongs to options[i], as cli_parse
 * fills it: for every option left NULL (unset on the command line) that the
 * file sets, values[i] is pointed at the file's value ("1" for a flag set
 * true; a flag set false stays NULL). path_keys (NULL-terminated, or NULL
 * for none) names the string options whose values are paths: a relative
 * one is resolved against the directory holding the file, as a service
 * reading /etc/zsmap/zsmap.conf expects; an absolute one or "" is kept.
 *
 * On ZS_OK *out is a new config_file that owns the strings now in values:
 * free it with config_destroy() after the last use of values. On failure
 * (ZS_EIO or ZS_ENOTFOUND: the file cannot be read; ZS_EINVAL: a bad line,
 * or a path key that names no string option; ZS_ENOMEM) values is left
 * untouched, *out is NULL and err says "FILE:LINE: problem". */
zs_status config_load(const char *path, const cli_option *options, const char *const *path_keys,
                      const char **values, config_file **out, zs_error *err);

/* Frees the file's strings; accepts NULL. */
void config_destroy(config_file *cf);

#endif
