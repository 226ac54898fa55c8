/* test_run_state.c - the run's life (runs/run.h): every move the diagram
 * draws is legal, every other one is refused, and wf_run_move aborts on a
 * refused move (assert() is on in the test builds) instead of making it. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runs/run.h"

/* The diagram's arrows, written out again here on purpose: a change to the
 * table must be a change to this list too. */
static const struct {
    enum wf_run_state from, to;
} arrows[] = {
    {WF_RUN_QUEUED, WF_RUN_STARTING},       /* dispatch: a slot */
    {WF_RUN_QUEUED, WF_RUN_DROPPED},        /* dispatch: client gone, shutdown */
    {WF_RUN_STARTING, WF_RUN_RUNNING},      /* spawned and watched */
    {WF_RUN_STARTING, WF_RUN_START_FAILED}, /* the sandbox could not start */
    {WF_RUN_RUNNING, WF_RUN_REPORTED},      /* the done message */
    {WF_RUN_RUNNING, WF_RUN_ENDING},        /* killed */
    {WF_RUN_RUNNING, WF_RUN_EXITED},        /* exited without reporting */
    {WF_RUN_REPORTED, WF_RUN_ENDING},       /* killed after reporting */
    {WF_RUN_REPORTED, WF_RUN_EXITED},       /* exited */
    {WF_RUN_REPORTED, WF_RUN_LEAVING},      /* answered early */
    {WF_RUN_ENDING, WF_RUN_EXITED},         /* the killed process reaped */
    {WF_RUN_EXITED, WF_RUN_HELD},           /* answered, an AI job out */
    {WF_RUN_EXITED, WF_RUN_OVER},           /* answered */
    {WF_RUN_DROPPED, WF_RUN_OVER},
    {WF_RUN_START_FAILED, WF_RUN_OVER},
    {WF_RUN_LEAVING, WF_RUN_HELD},          /* reaped, an AI job out */
    {WF_RUN_LEAVING, WF_RUN_OVER},          /* reaped */
    {WF_RUN_HELD, WF_RUN_OVER},             /* the AI job's answer is back */
};
#define N_ARROWS (sizeof arrows / sizeof arrows[0])

static int drawn(enum wf_run_state from, enum wf_run_state to)
{
    for (size_t i = 0; i < N_ARROWS; i++)
        if (arrows[i].from == from && arrows[i].to == to)
            return 1;
    return 0;
}

static void test_table_is_the_diagram(void **state)
{
    (void)state;
    for (int from = 0; from < WF_RUN_STATES; from++)
        for (int to = 0; to < WF_RUN_STATES; to++) {
            int want = drawn((enum wf_run_state)from, (enum wf_run_state)to);
            if (wf_run_move_legal((enum wf_run_state)from, (enum wf_run_state)to) != want)
                fail_msg("%s -> %s: the table says %s", wf_run_state_name((enum wf_run_state)from),
                         wf_run_state_name((enum wf_run_state)to), want ? "no" : "yes");
        }
    /* Out of range is never legal. */
    assert_false(wf_run_move_legal(WF_RUN_STATES, WF_RUN_OVER));
    assert_false(wf_run_move_legal(WF_RUN_QUEUED, WF_RUN_STATES));
    assert_false(wf_run_move_legal((enum wf_run_state)-1, WF_RUN_STARTING));
}

/* Every state but QUEUED is reached from QUEUED, and every one reaches OVER,
 * which is the end: the life has no dead end and no way back. */
static void test_every_life_ends(void **state)
{
    (void)state;
    int reach[WF_RUN_STATES] = {[WF_RUN_QUEUED] = 1};
    for (int round = 0; round < WF_RUN_STATES; round++)
        for (size_t i = 0; i < N_ARROWS; i++)
            if (reach[arrows[i].from])
                reach[arrows[i].to] = 1;
    for (int s = 0; s < WF_RUN_STATES; s++) {
        if (!reach[s])
            fail_msg("%s cannot be reached", wf_run_state_name((enum wf_run_state)s));
        int out = 0;
        for (int to = 0; to < WF_RUN_STATES; to++)
            out += wf_run_move_legal((enum wf_run_state)s, (enum wf_run_state)to);
        if (s == WF_RUN_OVER)
            assert_int_equal(out, 0);
        else if (out == 0)
            fail_msg("%s is a dead end", wf_run_state_name((enum wf_run_state)s));
        assert_false(wf_run_move_legal((enum wf_run_state)s, WF_RUN_QUEUED));
    }
}

/* The lives the supervisor walks, move by move through wf_run_move. */
static void walk(const enum wf_run_state *path, size_t n)
{
    wf_run r;
    memset(&r, 0, sizeof r);
    assert_int_equal(r.state, WF_RUN_QUEUED);
    for (size_t i = 0; i < n; i++) {
        wf_run_move(&r, path[i]);
        assert_int_equal(r.state, path[i]);
    }
    assert_int_equal(r.state, WF_RUN_OVER);
}

static void test_lives(void **state)
{
    (void)state;
    static const enum wf_run_state ok_early[] = {WF_RUN_STARTING, WF_RUN_RUNNING, WF_RUN_REPORTED,
                                                 WF_RUN_LEAVING, WF_RUN_OVER};
    static const enum wf_run_state exited[] = {WF_RUN_STARTING, WF_RUN_RUNNING, WF_RUN_REPORTED,
                                               WF_RUN_EXITED, WF_RUN_OVER};
    static const enum wf_run_state timeout_ai[] = {WF_RUN_STARTING, WF_RUN_RUNNING, WF_RUN_ENDING,
                                                   WF_RUN_EXITED, WF_RUN_HELD, WF_RUN_OVER};
    static const enum wf_run_state early_ai[] = {WF_RUN_STARTING, WF_RUN_RUNNING, WF_RUN_REPORTED,
                                                 WF_RUN_LEAVING, WF_RUN_HELD, WF_RUN_OVER};
    static const enum wf_run_state dropped[] = {WF_RUN_DROPPED, WF_RUN_OVER};
    static const enum wf_run_state no_start[] = {WF_RUN_STARTING, WF_RUN_START_FAILED, WF_RUN_OVER};
    walk(ok_early, sizeof ok_early / sizeof ok_early[0]);
    walk(exited, sizeof exited / sizeof exited[0]);
    walk(timeout_ai, sizeof timeout_ai / sizeof timeout_ai[0]);
    walk(early_ai, sizeof early_ai / sizeof early_ai[0]);
    walk(dropped, sizeof dropped / sizeof dropped[0]);
    walk(no_start, sizeof no_start / sizeof no_start[0]);
}

/* A move the table refuses aborts where it is made. */
static void expect_abort(enum wf_run_state from, enum wf_run_state to)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        wf_run r;
        memset(&r, 0, sizeof r);
        r.state = from; /* set by hand: the test stands where a bug would */
        wf_run_move(&r, to);
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
        fail_msg("%s -> %s was made, not refused", wf_run_state_name(from),
                 wf_run_state_name(to));
}

static void test_illegal_move_aborts(void **state)
{
    (void)state;
#ifdef NDEBUG
    fail_msg("built with NDEBUG: wf_run_move checks nothing");
#endif
    expect_abort(WF_RUN_QUEUED, WF_RUN_RUNNING);   /* started without a slot */
    expect_abort(WF_RUN_OVER, WF_RUN_OVER);        /* answered twice */
    expect_abort(WF_RUN_LEAVING, WF_RUN_ENDING);   /* killed after its answer */
    expect_abort(WF_RUN_HELD, WF_RUN_EXITED);      /* reaped twice */
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(wf_run_state_name(WF_RUN_QUEUED), "queued");
    assert_string_equal(wf_run_state_name(WF_RUN_START_FAILED), "start_failed");
    assert_string_equal(wf_run_state_name(WF_RUN_OVER), "over");
    assert_string_equal(wf_run_state_name(WF_RUN_STATES), "?");
    for (int s = 0; s < WF_RUN_STATES; s++)
        assert_string_not_equal(wf_run_state_name((enum wf_run_state)s), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_the_diagram),
        cmocka_unit_test(test_every_life_ends),
        cmocka_unit_test(test_lives),
        cmocka_unit_test(test_illegal_move_aborts),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
