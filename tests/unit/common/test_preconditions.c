/* test_preconditions.c - assert() preconditions are on in the test builds:
 * a broken precondition aborts (SIGABRT) where it is broken, instead of a
 * NULL dereference further on (SIGSEGV) or nothing at all. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox/sandbox.h"

static void test_assert_is_on(void **state)
{
    (void)state;
#ifdef NDEBUG
    fail_msg("built with NDEBUG: the assert() preconditions are off");
#endif
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child: a NULL sandbox breaks wf_sandbox_kill's precondition */
        wf_sandbox_kill(NULL, NULL);
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assert_is_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
