/* The render pool: identical keys run once and every waiter hears the one
 * result; a full queue refuses at once; a job queued past its deadline is
 * not run (503); stopping answers the queued waiters 503 and runs nothing
 * more; results carry their own blob references. Jobs are gated on a
 * condition the test opens, so what is queued is exact, not timing. */
#include "renderpool.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static atomic_int runs, started;

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
    char text[32];
} job_ctx;

/* Waits for the gate, then makes a blob of the job's text. */
static void run(void *ctx, int worker, render_result *res)
{
    (void)worker;
    job_ctx *j = ctx;
    atomic_fetch_add(&started, 1);
    pthread_mutex_lock(&gate_lock);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    atomic_fetch_add(&runs, 1);
    size_t n = strlen(j->text);
    unsigned char *data = malloc(n);
    memcpy(data, j->text, n);
    res->blob = hblob_create(data, n, 't');
    res->status = 200;
}

static atomic_int freed;

static void free_ctx(void *ctx)
{
    atomic_fetch_add(&freed, 1);
    free(ctx);
}

typedef struct {
    pthread_mutex_t lock;
    int calls, status;
    char body[32];
} waiter;

static void done(void *arg, render_result *res)
{
    waiter *w = arg;
    pthread_mutex_lock(&w->lock);
    w->calls++;
    w->status = res->status;
    if (res->blob) {
        size_t n;
        const unsigned char *d = hblob_data(res->blob, &n);
        snprintf(w->body, sizeof w->body, "%.*s", (int)n, (const char *)d);
        hblob_release(res->blob);
    }
    pthread_mutex_unlock(&w->lock);
}

static bool submit(renderpool *p, const char *key, const char *text, double deadline, waiter *w)
{
    job_ctx *j = calloc(1, sizeof *j);
    snprintf(j->text, sizeof j->text, "%s", text);
    render_job rj = {.key = key,
                     .deadline = deadline,
                     .run = run,
                     .ctx = j,
                     .free_ctx = free_ctx,
                     .done = done,
                     .done_arg = w};
    return renderpool_submit(p, &rj);
}

static int calls(waiter *w)
{
    pthread_mutex_lock(&w->lock);
    int c = w->calls;
    pthread_mutex_unlock(&w->lock);
    return c;
}

static void wait_calls(waiter *w, int n)
{
    double end = now() + 10;
    while (calls(w) < n && now() < end) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void wait_started(int n)
{
    double end = now() + 10;
    while (atomic_load(&started) < n && now() < end) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

#define W_INIT                                                                                     \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, 0, 0, ""                                                        \
    }

static void test_join_and_queue(void)
{
    zs_error err = {0};
    renderpool *p = NULL;
    CHECK(renderpool_create(1, 2, &p, &err) == ZS_OK);
    CHECK_INT(renderpool_threads(p), 1);
    gate_set(false);
    atomic_store(&runs, 0);
    atomic_store(&started, 0);
    double far = now() + 60;
    waiter a = W_INIT, a2 = W_INIT, b = W_INIT, c = W_INIT, d = W_INIT;
    CHECK(submit(p, "A", "tile A", far, &a)); /* runs (blocked on the gate) */
    wait_started(1);
    CHECK(submit(p, "A", "other", far, &a2));  /* joins the running A */
    CHECK(submit(p, "B", "tile B", far, &b));  /* queued 1 */
    CHECK(submit(p, "C", "tile C", far, &c));  /* queued 2 */
    CHECK(!submit(p, "D", "tile D", far, &d)); /* the queue is full: refused */
    renderpool_stats st;
    renderpool_get_stats(p, &st);
    CHECK_INT(st.queued, 2);
    CHECK_INT(st.running, 1);
    CHECK_INT(st.joined, 1);
    CHECK_INT(st.refused, 1);
    CHECK_INT(calls(&d), 0);
    gate_set(true);
    wait_calls(&a, 1);
    wait_calls(&a2, 1);
    wait_calls(&b, 1);
    wait_calls(&c, 1);
    CHECK_INT(atomic_load(&runs), 3); /* A once for two waiters, B, C */
    CHECK_STR(a.body, "tile A");
    CHECK_STR(a2.body, "tile A");
    CHECK_STR(b.body, "tile B");
    CHECK_STR(c.body, "tile C");
    CHECK_INT(a.status, 200);
    renderpool_destroy(p);
    CHECK_INT(calls(&a), 1); /* each waiter told once */
    CHECK_INT(calls(&a2), 1);
}

static void *stop_main(void *p)
{
    renderpool_stop(p);
    return NULL;
}

static void test_deadline_and_stop(void)
{
    zs_error err = {0};
    renderpool *p = NULL;
    CHECK(renderpool_create(1, 8, &p, &err) == ZS_OK);
    gate_set(false);
    atomic_store(&runs, 0);
    atomic_store(&started, 0);
    waiter a = W_INIT, late = W_INIT, q1 = W_INIT, q2 = W_INIT;
    CHECK(submit(p, "A", "tile A", now() + 60, &a));
    wait_started(1);
    CHECK(submit(p, "L", "late", now() + 0.05, &late)); /* waits behind A past its deadline */
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    gate_set(true);
    wait_calls(&late, 1);
    CHECK_INT(late.status, 503);
    CHECK_INT(atomic_load(&runs), 1); /* the late job never ran */
    renderpool_stats st;
    renderpool_get_stats(p, &st);
    CHECK_INT(st.expired, 1);

    /* stop: the running job finishes, queued ones are told 503 */
    gate_set(false);
    atomic_store(&started, 0);
    waiter r = W_INIT;
    CHECK(submit(p, "R", "tile R", now() + 60, &r));
    wait_started(1);
    CHECK(submit(p, "Q1", "q1", now() + 60, &q1));
    CHECK(submit(p, "Q2", "q2", now() + 60, &q2));
    renderpool_stats before;
    renderpool_get_stats(p, &before);
    CHECK_INT(before.queued, 2);
    pthread_t stopper;
    pthread_create(&stopper, NULL, stop_main, p);
    wait_calls(&q1, 1); /* the queue was emptied while R still runs */
    wait_calls(&q2, 1);
    CHECK_INT(calls(&r), 0);
    gate_set(true);
    pthread_join(stopper, NULL);
    CHECK_INT(calls(&q1), 1);
    CHECK_INT(q1.status, 503);
    CHECK_INT(calls(&q2), 1);
    CHECK_INT(calls(&r), 1);
    CHECK_INT(r.status, 200);
    waiter after = W_INIT;
    CHECK(!submit(p, "X", "x", now() + 60, &after)); /* stopped: refused */
    CHECK_INT(calls(&after), 0);
    renderpool_destroy(p);
}

int main(void)
{
    atomic_store(&freed, 0);
    test_join_and_queue();
    test_deadline_and_stop();
    /* every ctx freed, joined and refused ones too: 5 in the first, 6 in the second */
    CHECK_INT(atomic_load(&freed), 11);
    TEST_DONE();
}
