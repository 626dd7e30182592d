#include "accesslog.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 16384 /* bytes gathered per thread before a write */

typedef struct block {
    struct block *next;
    pthread_mutex_t lock; /* its thread appends, a flush writes it out */
    size_t len;
    char data[BLOCK];
} block;

struct accesslog {
    int fd;
    pthread_key_t key;    /* the calling thread's block */
    pthread_mutex_t lock; /* guards the list */
    block *blocks;
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return; /* a log that cannot be written must not stop serving */
        p += w;
        n -= (size_t)w;
    }
}

accesslog *accesslog_create(int fd)
{
    accesslog *log = calloc(1, sizeof *log);
    if (!log) return NULL;
    if (pthread_key_create(&log->key, NULL) != 0) {
        free(log);
        return NULL;
    }
    log->fd = fd;
    pthread_mutex_init(&log->lock, NULL);
    return log;
}

/* The calling thread's block, made and listed on its first line. */
static block *thread_block(accesslog *log)
{
    block *b = pthread_getspecific(log->key);
    if (b) return b;
    if (!(b = calloc(1, sizeof *b))) return NULL;
    pthread_mutex_init(&b->lock, NULL);
    pthread_mutex_lock(&log->lock);
    b->next = log->blocks;
    log->blocks = b;
    pthread_mutex_unlock(&log->lock);
    pthread_setspecific(log->key, b);
    return b;
}

void accesslog_write(accesslog *log, const char *line, size_t len)
{
    block *b = thread_block(log);
    if (!b || len > BLOCK) {
        write_all(log->fd, line, len);
        return;
    }
    pthread_mutex_lock(&b->lock);
    if (b->len + len > BLOCK) {
        write_all(log->fd, b->data, b->len);
        b->len = 0;
    }
    memcpy(b->data + b->len, line, len);
    b->len += len;
    pthread_mutex_unlock(&b->lock);
}

void accesslog_flush(accesslog *log)
{
    pthread_mutex_lock(&log->lock);
    for (block *b = log->blocks; b; b = b->next) {
        pthread_mutex_lock(&b->lock);
        write_all(log->fd, b->data, b->len);
        b->len = 0;
        pthread_mutex_unlock(&b->lock);
    }
    pthread_mutex_unlock(&log->lock);
}

void accesslog_destroy(accesslog *log)
{
    if (!log) return;
    accesslog_flush(log);
    for (block *b = log->blocks, *next; b; b = next) {
        next = b->next;
        pthread_mutex_destroy(&b->lock);
        free(b);
    }
    pthread_key_delete(log->key);
    pthread_mutex_destroy(&log->lock);
    free(log);
}
