#include "cli.h"

#include <getopt.h>
#include <string.h>
#include <time.h>

void cli_print_help(FILE *out, const cli_command *c)
{
    fprintf(out, "usage: zsmap %s", c->name);
    for (const cli_option *o = c->options; o->name; o++) {
        if (o->kind == OPT_FLAG)
            fprintf(out, " [--%s]", o->name);
        else
            fprintf(out, o->required ? " --%s %s" : " [--%s %s]", o->name, o->arg);
    }
    if (c->positional) fprintf(out, " %s", c->positional);
    fprintf(out, "\n\n%s\n\n", c->summary);
    for (const cli_option *o = c->options; o->name; o++) {
        char left[64];
        const char *arg = o->kind == OPT_FLAG ? "" : o->arg;
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s %s", o->short_name, o->name, arg);
        else
            snprintf(left, sizeof left, "    --%s %s", o->name, arg);
        fprintf(out, "  %-30s %s\n", left, o->help);
    }
}

int cli_parse(const cli_command *c, int argc, char **argv, const char **values,
              const char **positional, bool *help_shown)
{
    struct option longopts[32];
    char shorts[64] = "h";
    size_t ns = 1;
    int n = 0;
    *help_shown = false;
    for (const cli_option *o = c->options; o->name && n < 30; o++, n++) {
        longopts[n] = (struct option){
            o->name, o->kind == OPT_FLAG ? no_argument : required_argument, NULL, 1000 + n};
        if (o->short_name && ns + 2 < sizeof shorts) {
            shorts[ns++] = o->short_name;
            if (o->kind == OPT_STRING) shorts[ns++] = ':';
        }
    }
    shorts[ns] = '\0';
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n] = (struct option){0};
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        if (ch == 'h') {
            cli_print_help(stdout, c);
            *help_shown = true;
            return 0;
        }
        int index = ch >= 1000 ? ch - 1000 : -1;
        for (int i = 0; index < 0 && c->options[i].name; i++)
            if (c->options[i].short_name && c->options[i].short_name == ch) index = i;
        if (index >= 0) {
            values[index] = c->options[index].kind == OPT_FLAG ? "1" : optarg;
            continue;
        }
        fprintf(stderr, "zsmap %s: unknown or incomplete option '%s'\n", c->name, argv[optind - 1]);
        fprintf(stderr, "try 'zsmap %s --help'\n", c->name);
        return EXIT_USAGE;
    }
    for (int i = 0; c->options[i].name; i++) {
        if (c->options[i].required && !values[i]) {
            fprintf(stderr, "zsmap %s: --%s is required\n", c->name, c->options[i].name);
            return EXIT_USAGE;
        }
    }
    int rest = argc - optind;
    if (c->positional ? rest > 1 || (rest == 0 && !c->positional_optional) : rest != 0) {
        fprintf(stderr, "zsmap %s: %s\n", c->name,
                c->positional ? "expected one argument" : "unexpected argument");
        return EXIT_USAGE;
    }
    *positional = rest ? argv[optind] : NULL;
    return 0;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
