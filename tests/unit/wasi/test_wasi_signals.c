/* test_wasi_signals.c - the host's fault handler: a fault outside the guest
 * (a host bug) must kill the process with SIGSEGV, never be taken for a
 * guest trap and unwound. */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wasi_fixture.h"

static int run_child(void (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void host_bad_page(void)
{
    char err[100];
    if (wf_wasi_signals_install(err, sizeof(err)))
        _exit(3);
    /* a page the host never made accessible */
    volatile int *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ((void *)p == MAP_FAILED)
        _exit(5);
    *p = 1;
    _exit(4);   /* never reached: the fault must be fatal */
}

static void host_wild_write(void)
{
    char err[100];
    if (wf_wasi_signals_install(err, sizeof(err)))
        _exit(3);
    volatile uintptr_t where = 0x10;
    *(volatile char *)where = 1;
    _exit(4);
}

static void test_host_fault_is_fatal(void **state)
{
    (void)state;
    int st = run_child(host_bad_page);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSEGV);
    st = run_child(host_wild_write);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSEGV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_fault_is_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
