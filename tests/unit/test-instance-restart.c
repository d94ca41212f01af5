/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-instance-restart.c: restart policies: parsing, when a restart is due, the delay, and the stop mark,
 * count and lock in a real instance directory of a temporary root */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "instance/instance.h"
#include "instance/internal.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_parse(void **state)
{
        static const struct {
                const char *text;
                InstRestartKind kind;
                int max_retries;
        } good[] = {
                { NULL, INST_RESTART_NO, -1 },
                { "no", INST_RESTART_NO, -1 },
                { "always", INST_RESTART_ALWAYS, -1 },
                { "on-failure", INST_RESTART_ON_FAILURE, -1 },
                { "on-failure:0", INST_RESTART_ON_FAILURE, 0 },
                { "on-failure:2", INST_RESTART_ON_FAILURE, 2 },
                { "on-failure:2147483647", INST_RESTART_ON_FAILURE, 2147483647 },
        };
        static const char *const bad[] = { "", "yes", "Always", "on-failure:", "on-failure:-1", "on-failure:+1",
                                           "on-failure:1x", "on-failure: 1", "on-failure:2147483648",
                                           "on-failure:99999999999999999999", "always:3", "no:1" };
        (void)state;

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                InstRestartPolicy p = { INST_RESTART_ALWAYS, 42 };
                Error *e = NULL;
                assert_int_equal(inst_restart_policy_parse(good[i].text, &p, &e), 0);
                assert_null(e);
                assert_int_equal(p.kind, good[i].kind);
                assert_int_equal(p.max_retries, good[i].max_retries);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                _cleanup_free_ char *quoted = xasprintf("'%s'", bad[i]);
                InstRestartPolicy p;
                Error *e = NULL;
                assert_int_equal(inst_restart_policy_parse(bad[i], &p, &e), -EINVAL);
                assert_non_null(e);
                if (!strstr(e->msg, quoted))
                        fail_msg("'%s': message '%s' does not quote it", bad[i], e->msg);
                error_free(e);
        }
        /* No Error wanted: the status alone. */
        {
                InstRestartPolicy p;
                assert_int_equal(inst_restart_policy_parse("never", &p, NULL), -EINVAL);
        }
}

static void test_is_due(void **state)
{
        InstRestartPolicy no = { INST_RESTART_NO, -1 }, always = { INST_RESTART_ALWAYS, -1 },
                          fail = { INST_RESTART_ON_FAILURE, -1 }, fail2 = { INST_RESTART_ON_FAILURE, 2 },
                          fail0 = { INST_RESTART_ON_FAILURE, 0 };
        (void)state;

        assert_false(inst_restart_is_due(&no, 1, 0));
        assert_false(inst_restart_is_due(&no, 0, 0));
        /* always: any status, any count */
        assert_true(inst_restart_is_due(&always, 0, 0));
        assert_true(inst_restart_is_due(&always, 137, 1000000));
        /* on-failure: a non-zero status only (a signal's 128+N too) */
        assert_false(inst_restart_is_due(&fail, 0, 0));
        assert_true(inst_restart_is_due(&fail, 1, 0));
        assert_true(inst_restart_is_due(&fail, 137, 5000));
        /* on-failure:2: the first two restarts, not the third */
        assert_true(inst_restart_is_due(&fail2, 3, 0));
        assert_true(inst_restart_is_due(&fail2, 3, 1));
        assert_false(inst_restart_is_due(&fail2, 3, 2));
        assert_false(inst_restart_is_due(&fail2, 3, 3));
        assert_false(inst_restart_is_due(&fail2, 0, 0));
        /* on-failure:0: never */
        assert_false(inst_restart_is_due(&fail0, 1, 0));
        /* an unreadable status (-1: the monitor left none) is a failure */
        assert_true(inst_restart_is_due(&fail2, -1, 0));
}

static void test_delay(void **state)
{
        unsigned d = 0, expect = 100;
        (void)state;

        /* 100 ms, doubled each time, up to 60 s and no further. */
        for (int i = 0; i < 10; i++) {
                d = inst_restart_next_delay(d, 0);
                assert_int_equal(d, expect);
                expect *= 2;
        }
        assert_int_equal(d, 51200);
        d = inst_restart_next_delay(d, 9);
        assert_int_equal(d, 60000);
        assert_int_equal(inst_restart_next_delay(d, 0), 60000);
        assert_int_equal(inst_restart_next_delay(30000, 0), 60000);
        assert_int_equal(inst_restart_next_delay(29999, 0), 59998);
        /* ran 10 s or more: back to the start, whatever the last delay */
        assert_int_equal(inst_restart_next_delay(60000, 10), 100);
        assert_int_equal(inst_restart_next_delay(400, 3600), 100);
        assert_int_equal(inst_restart_next_delay(400, 9), 800);
        /* a clock that went back counts as a short run */
        assert_int_equal(inst_restart_next_delay(400, -5), 800);
}

static void test_record_policy(void **state)
{
        static const struct {
                const char *options;
                bool has_policy;
                bool is_autostart;
        } cases[] = {
                { "{}", false, false },
                { "{\"restart\": null}", false, false },
                { "{\"restart\": \"no\"}", false, false },
                { "{\"restart\": \"on-failure:3\"}", true, false },
                { "{\"restart\": \"always\"}", true, true },
                { "{\"autostart\": true}", false, true },
                { "{\"autostart\": true, \"restart\": \"on-failure\"}", true, true },
                /* what does not parse counts as no policy, never as a reason to start */
                { "{\"restart\": \"sometimes\"}", false, false },
                { "{\"restart\": 3}", false, false },
                { "not json", false, false },
        };
        (void)state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                InstRecord rec = { .id = (char *)ID, .name = (char *)"x", .options = (char *)cases[i].options };
                if (inst_restart_has_policy(&rec) != cases[i].has_policy)
                        fail_msg("%s: has_policy", cases[i].options);
                if (inst_is_autostart(&rec) != cases[i].is_autostart)
                        fail_msg("%s: is_autostart", cases[i].options);
        }
}

typedef struct Fixture {
        char tmp[64];
        InstContext *c;
        char *dir;
} Fixture;

static int setup(void **state)
{
        Fixture *f = xnew0(Fixture, 1);
        _cleanup_free_ char *root = NULL;
        Error *e = NULL;

        snprintf(f->tmp, sizeof(f->tmp), "/tmp/hull-restart-test.XXXXXX");
        if (!mkdtemp(f->tmp)) {
                free(f);
                return -1;
        }
        *state = f;
        root = xasprintf("%s/root", f->tmp);
        if (inst_context_open(root, NULL, &f->c, &e) < 0) {
                print_error("open: %s\n", e->msg);
                error_free(e);
                return -1;
        }
        f->dir = inst_dir(f->c, ID);
        if (mkdir_p(f->dir, 0700, &e) < 0) {
                print_error("mkdir: %s\n", e->msg);
                error_free(e);
                return -1;
        }
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;

        f->c = inst_context_free(f->c);
        rm_rf_at(AT_FDCWD, f->tmp, NULL);
        free(f->dir);
        free(f);
        return 0;
}

static bool exists(const Fixture *f, const char *name)
{
        _cleanup_free_ char *p = inst_path(f->c, ID, name);
        return access(p, F_OK) == 0;
}

static void test_mark_count_forget(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *st = inst_path(f->c, ID, "restart-state");
        Error *e = NULL;

        /* Nothing yet: no restarts, no mark. */
        assert_int_equal(inst_restart_count(f->c, ID), 0);
        assert_false(exists(f, "stop-requested"));
        /* The count is what the state file says; a damaged one counts as none. */
        assert_int_equal(write_file_atomic_at(AT_FDCWD, st, "3 400\n", 6, 0644, &e), 0);
        assert_int_equal(inst_restart_count(f->c, ID), 3);
        assert_int_equal(write_file_atomic_at(AT_FDCWD, st, "garbage", 7, 0644, &e), 0);
        assert_int_equal(inst_restart_count(f->c, ID), 0);
        assert_int_equal(write_file_atomic_at(AT_FDCWD, st, "7 100\n", 6, 0644, &e), 0);

        assert_int_equal(inst_restart_mark_stop(f->c, ID, &e), 0);
        assert_null(e);
        assert_true(exists(f, "stop-requested"));
        /* Twice is fine. */
        assert_int_equal(inst_restart_mark_stop(f->c, ID, &e), 0);

        /* A manual start: both go; and again with nothing there is quiet. */
        inst_restart_forget(f->c, ID);
        assert_false(exists(f, "stop-requested"));
        assert_false(exists(f, "restart-state"));
        assert_int_equal(inst_restart_count(f->c, ID), 0);
        inst_restart_forget(f->c, ID);
}

static void test_lock(void **state)
{
        Fixture *f = *state;
        _cleanup_close_ int other = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int lock = -EBADF, copy;
        Error *e = NULL;

        assert_true(other >= 0);
        assert_int_equal(inst_lock(f->c, ID, &lock, &e), 0);
        assert_true(lock >= 0);
        /* Another open file description cannot have it meanwhile... */
        assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
        assert_int_equal(errno, EWOULDBLOCK);
        /* ... and the unlock releases it even while a copy of the fd lives on (a forked child's). */
        copy = fcntl(lock, F_DUPFD_CLOEXEC, 3);
        assert_true(copy >= 0);
        inst_unlockp(&lock);
        assert_int_equal(lock, -EBADF);
        assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
        flock(other, LOCK_UN);
        close(copy);
        /* Unlocking nothing is fine. */
        inst_unlockp(&lock);

        /* An instance whose directory is gone: ENOENT, named in the message. */
        {
                const char *gone = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
                assert_int_equal(inst_lock(f->c, gone, &lock, &e), -ENOENT);
                assert_non_null(strstr(e->msg, gone));
                assert_int_equal(lock, -EBADF);
                e = error_free(e);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_is_due),
                cmocka_unit_test(test_delay),
                cmocka_unit_test(test_record_policy),
                cmocka_unit_test_setup_teardown(test_mark_count_forget, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
