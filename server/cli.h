/* The command line's shared machinery: each subcommand is an options table
 * that drives parsing, validation and --help. */
#ifndef ZS_CLI_H
#define ZS_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum { EXIT_USAGE = 2 };

typedef enum { OPT_STRING, OPT_FLAG } opt_kind;

typedef struct {
    const char *name;
    opt_kind kind;
    const char *arg; /* placeholder shown in --help */
    const char *help;
    bool required;
    char short_name; /* e.g. 'o' for -o; 0: none */
} cli_option;

typedef struct {
    const char *name;
    const char *summary;
    const char *positional; /* NULL: none */
    bool positional_optional;
    const cli_option *options;
    /* values[i] is option i's argument ("1" for a set flag) or NULL */
    int (*run)(const char **values, const char *positional);
} cli_command;

void cli_print_help(FILE *out, const cli_command *c);

/* Parses argv (argv[0] is the command name) into values and the positional
 * argument; returns 0, or EXIT_USAGE after saying what is wrong. --help
 * prints the help and sets *help_shown. */
int cli_parse(const cli_command *c, int argc, char **argv, const char **values,
              const char **positional, bool *help_shown);

/* Seconds on a monotonic clock. */
double cli_now(void);

#endif
