#include "renderpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_DEFAULT 256

typedef struct waiter {
    struct waiter *next;
    render_done_fn done;
    void *arg;
} waiter;

typedef struct job {
    struct job *next; /* queue order, or the running list */
    char *key;
    double deadline; /* the latest of its waiters' */
    render_run_fn run;
    void *ctx;
    void (*free_ctx)(void *ctx);
    waiter *waiters;
} job;

struct renderpool {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job was queued, or the pool stops */
    job *head, *tail;    /* queued, oldest first */
    job *running;        /* being run, for joining */
    size_t queued, nrunning, max_queued;
    bool stopping;
    int nthreads;
    pthread_t *threads;
    int started;
    unsigned long joined, refused, expired;
};

typedef struct {
    renderpool *p;
    int index;
} worker_arg;

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Tells every waiter of j the result (each gets its own blob reference) and
 * frees j; the lock is not held. */
static void finish(job *j, render_result *res)
{
    for (waiter *w = j->waiters, *next; w; w = next) {
        next = w->next;
        render_result mine = *res;
        mine.blob = hblob_retain(res->blob);
        w->done(w->arg, &mine);
        free(w);
    }
    hblob_release(res->blob);
    res->blob = NULL;
    if (j->free_ctx) j->free_ctx(j->ctx);
    free(j->key);
    free(j);
}

static job *find(job *list, const char *key)
{
    for (; list; list = list->next)
        if (strcmp(list->key, key) == 0) return list;
    return NULL;
}

static void unlink_running(renderpool *p, job *j)
{
    job **pp = &p->running;
    while (*pp && *pp != j)
        pp = &(*pp)->next;
    if (*pp) *pp = j->next;
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    renderpool *p = wa->p;
    int index = wa->index;
    free(wa);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->work, &p->lock);
        if (!p->head) break; /* stopping, nothing queued */
        job *j = p->head;
        p->head = j->next;
        if (!p->head) p->tail = NULL;
        p->queued--;
        bool expired = mono_now() > j->deadline;
        if (expired) p->expired++;
        j->next = p->running;
        p->running = j;
        p->nrunning++;
        pthread_mutex_unlock(&p->lock);

        render_result res = {.status = 500};
        if (expired) {
            res.status = 503;
            snprintf(res.msg, sizeof res.msg,
                     "the server is busy: the tile waited past its deadline; try again");
        } else {
            j->run(j->ctx, index, &res);
        }

        /* no one may join once it leaves the running list */
        pthread_mutex_lock(&p->lock);
        unlink_running(p, j);
        p->nrunning--;
        pthread_mutex_unlock(&p->lock);
        finish(j, &res);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

zs_status renderpool_create(int threads, size_t max_queued, renderpool **out, zs_error *err)
{
    if (threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (int)cores : 1;
    }
    renderpool *p = calloc(1, sizeof *p);
    if (!p || !(p->threads = calloc((size_t)threads, sizeof *p->threads))) {
        free(p);
        return zs_fail(err, ZS_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    p->nthreads = threads;
    p->max_queued = max_queued ? max_queued : QUEUE_DEFAULT;
    for (int i = 0; i < threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) *wa = (worker_arg){p, i};
        int rc = wa ? pthread_create(&p->threads[i], NULL, worker_main, wa) : ENOMEM;
        if (rc) {
            free(wa);
            renderpool_destroy(p);
            return zs_fail(err, ZS_ENOMEM, "cannot start a render thread: %s", strerror(rc));
        }
        p->started++;
    }
    *out = p;
    return ZS_OK;
}

bool renderpool_submit(renderpool *p, const render_job *jb)
{
    waiter *w = malloc(sizeof *w);
    if (w) *w = (waiter){NULL, jb->done, jb->done_arg};
    pthread_mutex_lock(&p->lock);
    job *j = NULL;
    if (w && !p->stopping) {
        j = find(p->head, jb->key);
        if (!j) j = find(p->running, jb->key);
    }
    if (j) {
        /* the same tile is queued or being rendered: wait for it */
        w->next = j->waiters;
        j->waiters = w;
        if (jb->deadline > j->deadline) j->deadline = jb->deadline;
        p->joined++;
        pthread_mutex_unlock(&p->lock);
        if (jb->free_ctx) jb->free_ctx(jb->ctx);
        return true;
    }
    char *key = w && !p->stopping && p->queued < p->max_queued ? strdup(jb->key) : NULL;
    j = key ? malloc(sizeof *j) : NULL;
    if (!j) {
        p->refused++;
        pthread_mutex_unlock(&p->lock);
        free(key);
        free(w);
        if (jb->free_ctx) jb->free_ctx(jb->ctx);
        return false;
    }
    *j = (job){.key = key,
               .deadline = jb->deadline,
               .run = jb->run,
               .ctx = jb->ctx,
               .free_ctx = jb->free_ctx,
               .waiters = w};
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->queued++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return true;
}

int renderpool_threads(const renderpool *p)
{
    return p->nthreads;
}

void renderpool_get_stats(renderpool *p, renderpool_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = (renderpool_stats){.queued = p->queued,
                              .running = p->nrunning,
                              .joined = p->joined,
                              .refused = p->refused,
                              .expired = p->expired};
    pthread_mutex_unlock(&p->lock);
}

void renderpool_stop(renderpool *p)
{
    pthread_mutex_lock(&p->lock);
    if (p->stopping && !p->started) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    p->stopping = true;
    job *queued = p->head;
    p->head = p->tail = NULL;
    p->queued = 0;
    pthread_cond_broadcast(&p->work);
    int started = p->started;
    p->started = 0;
    pthread_mutex_unlock(&p->lock);
    for (job *j = queued, *next; j; j = next) {
        next = j->next;
        render_result res = {.status = 503};
        snprintf(res.msg, sizeof res.msg, "the server is stopping; try again");
        finish(j, &res);
    }
    for (int i = 0; i < started; i++)
        pthread_join(p->threads[i], NULL);
}

void renderpool_destroy(renderpool *p)
{
    if (!p) return;
    renderpool_stop(p);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}
