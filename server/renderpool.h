/* Renders off the HTTP threads. A fixed set of threads (one per core) takes
 * jobs from a bounded queue, so that a request whose tile must be rendered
 * holds no HTTP thread while it waits, and cached tiles are served while
 * renders run. A job submitted with the key of one queued or running joins
 * it: the work runs once and every waiter is told the one result. A job
 * still queued after the latest of its waiters' deadlines is not run; its
 * waiters are told 503. A full queue refuses at once, so an overloaded
 * server answers 503 instead of piling up work. Plain C: the HTTP layer
 * turns "told" into resuming a suspended connection. */
#ifndef ZS_RENDERPOOL_H
#define ZS_RENDERPOOL_H

#include "error.h"
#include "hblob.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct renderpool renderpool;

typedef struct {
    int status;    /* 200 rendered; 503 busy or past the deadline; 500 failed */
    hblob *blob;   /* on 200: a reference, owned by whoever holds the result */
    char msg[256]; /* on failure: what went wrong, for the JSON error */
} render_result;

/* Does a job's work on thread worker (0..threads-1), filling res. */
typedef void (*render_run_fn)(void *ctx, int worker, render_result *res);

/* Tells one waiter the result; it owns res->blob's reference from now.
 * Called once per waiter, from a pool thread (or renderpool_stop's). */
typedef void (*render_done_fn)(void *arg, render_result *res);

typedef struct {
    const char *key; /* identical keys run once (copied) */
    double deadline; /* cli_now() seconds; not started after it: 503 */
    render_run_fn run;
    void *ctx;                   /* the job's data, freed with free_ctx after it ran */
    void (*free_ctx)(void *ctx); /* also called at once when the job joins another */
    render_done_fn done;
    void *done_arg;
} render_job;

/* threads: 0 for one per core; max_queued: jobs waiting at most (0: 256). */
zs_status renderpool_create(int threads, size_t max_queued, renderpool **out, zs_error *err);

/* Queues the job or joins an identical one and returns true: done will be
 * called once, maybe before this returns. Returns false when the queue is
 * full or the pool stopped: done is not called, ctx is freed. */
bool renderpool_submit(renderpool *p, const render_job *job);

/* Worker threads (for per-thread drawing surfaces). */
int renderpool_threads(const renderpool *p);

typedef struct {
    size_t queued, running; /* jobs now */
    unsigned long joined;   /* submissions that joined a job under way */
    unsigned long refused;  /* submissions refused: queue full */
    unsigned long expired;  /* jobs dropped at their deadline */
} renderpool_stats;

void renderpool_get_stats(renderpool *p, renderpool_stats *out);

/* Stops taking jobs, tells the waiters of queued jobs 503, waits for the
 * running ones and joins the threads. Idempotent. */
void renderpool_stop(renderpool *p);

/* Stops the pool and frees it; p may be NULL. */
void renderpool_destroy(renderpool *p);

#endif
