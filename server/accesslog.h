/* The access log: one line per request, gathered per thread and written in
 * blocks. A write(2) per line cost more than the rest of answering a
 * cached tile; now a line waits until its thread's block is full or the
 * next accesslog_flush() (the server calls it every second and when it
 * stops), so a line reaches the file within about a second. */
#ifndef ZS_ACCESSLOG_H
#define ZS_ACCESSLOG_H

#include <stddef.h>

typedef struct accesslog accesslog;

/* Lines go to fd (borrowed, e.g. 2 for stderr). NULL when out of memory. */
accesslog *accesslog_create(int fd);

/* Appends one line (with its newline) from the calling thread. */
void accesslog_write(accesslog *log, const char *line, size_t len);

/* Writes every thread's pending lines. Any thread. */
void accesslog_flush(accesslog *log);

/* Flushes and frees; no thread may write any more. log may be NULL. */
void accesslog_destroy(accesslog *log);

#endif
