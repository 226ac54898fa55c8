/* test_journal.c - the run journal (store/journal.h): what is appended is
 * there after a reopen, a torn record and what follows it are not, a replay
 * forgets what it delivered and empties the file once all is delivered, and
 * a second process cannot hold it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/wf_error.h"
#include "store/journal.h"

static char dir[256], path[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/wf-test-journal-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/run-journal", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

static wf_journal *open_ok(void)
{
    wf_journal *j = NULL;
    char err[256] = "";
    assert_int_equal(wf_journal_open(path, &j, err, sizeof err), 0);
    assert_non_null(j);
    return j;
}

static void assert_text(wf_journal *j, const char *key, const char *want)
{
    char *t = NULL;
    if (want == NULL) {
        assert_int_equal(wf_journal_get(j, key, &t), WF_ENOTFOUND);
        return;
    }
    assert_int_equal(wf_journal_get(j, key, &t), 0);
    assert_string_equal(t, want);
    free(t);
}

static void test_append_survives_reopen(void **state)
{
    (void)state;
    wf_journal *j = open_ok();
    assert_int_equal(wf_journal_append(j, "a", "{\"n\":1}"), 0);
    assert_int_equal(wf_journal_append(j, "b", "{\"n\":2}"), 0);
    assert_int_equal(wf_journal_pending(j), 2);
    assert_text(j, "a", "{\"n\":1}");
    wf_journal_close(j);

    j = open_ok();
    assert_int_equal(wf_journal_pending(j), 2);
    assert_text(j, "b", "{\"n\":2}");
    assert_text(j, "c", NULL);
    wf_journal_close(j);
}

/* A record cut short by a crash (its bytes only partly on disk) ends the
 * journal: it and anything after it are not read. */
static void test_torn_record_ends_the_journal(void **state)
{
    (void)state;
    wf_journal *j = open_ok();
    assert_int_equal(wf_journal_append(j, "whole", "{\"ok\":true}"), 0);
    assert_int_equal(wf_journal_append(j, "torn", "{\"lost\":\"yes\"}"), 0);
    wf_journal_close(j);
    /* Flip a byte of the second record's payload (the file's last bytes
     * before the preallocated zeros): its CRC no longer matches. */
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t off = 16 + 24 + 5 + 11 + 24 + 4 + 3;
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0xff;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
    j = open_ok();
    assert_int_equal(wf_journal_pending(j), 1);
    assert_text(j, "whole", "{\"ok\":true}");
    assert_text(j, "torn", NULL);
    wf_journal_close(j);
}

static int refuse_b(void *ctx, const char *key, const char *text)
{
    (void)text;
    int *calls = ctx;
    (*calls)++;
    return strcmp(key, "b") == 0 ? WF_EUNAVAIL : 0;
}

static int take_all(void *ctx, const char *key, const char *text)
{
    (void)key;
    (void)text;
    (*(int *)ctx)++;
    return 0;
}

static void test_replay_forgets_delivered_and_empties(void **state)
{
    (void)state;
    wf_journal *j = open_ok();
    assert_int_equal(wf_journal_append(j, "a", "1"), 0);
    assert_int_equal(wf_journal_append(j, "b", "2"), 0);
    assert_int_equal(wf_journal_append(j, "c", "3"), 0);
    int calls = 0;
    /* "b" refused: the replay stops there, in order; "a" is delivered. */
    assert_int_equal(wf_journal_replay(j, refuse_b, &calls), 2);
    assert_int_equal(calls, 2);
    assert_text(j, "a", NULL);
    assert_text(j, "b", "2");
    calls = 0;
    assert_int_equal(wf_journal_replay(j, take_all, &calls), 0);
    assert_int_equal(calls, 2);
    assert_int_equal(wf_journal_pending(j), 0);
    /* New records after the reset are what a reopen reads, and only them. */
    assert_int_equal(wf_journal_append(j, "d", "4"), 0);
    wf_journal_close(j);
    j = open_ok();
    assert_int_equal(wf_journal_pending(j), 1);
    assert_text(j, "d", "4");
    assert_text(j, "b", NULL);
    wf_journal_close(j);
}

static void test_one_holder_at_a_time(void **state)
{
    (void)state;
    wf_journal *j = open_ok();
    wf_journal *k = NULL;
    char err[256] = "";
    assert_int_equal(wf_journal_open(path, &k, err, sizeof err), WF_EUNAVAIL);
    assert_null(k);
    assert_non_null(strstr(err, "in use"));
    wf_journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_record_ends_the_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_forgets_delivered_and_empties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_holder_at_a_time, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
