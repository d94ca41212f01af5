/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-common-process.c: start times, liveness across pid reuse, pidfds, exit statuses */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "common/process.h"

static void test_start_time_and_alive(void **state)
{
        uint64_t t = 0;

        assert_int_equal(process_start_time(getpid(), &t), 0);
        assert_true(t > 0);
        assert_true(process_is_alive(getpid(), t));
        assert_true(process_is_alive(getpid(), 0));
        /* Another start time means another process that got the same pid. */
        assert_false(process_is_alive(getpid(), t + 1));
        assert_false(process_is_alive(0, 0));
        assert_int_equal(process_state(getpid()), 'R');
}

static void test_wait_status_and_zombie(void **state)
{
        Error *e = NULL;
        int status = -1;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(7);
        {
                /* A pidfd reports the exit; until reaped the child is a zombie, and not alive. */
                int fd = pidfd_open_pid(pid);
                struct pollfd p = { .fd = fd, .events = POLLIN };
                assert_true(fd >= 0);
                assert_int_equal(poll(&p, 1, 5000), 1);
                assert_false(process_is_alive(pid, 0));
                close(fd);
        }
        assert_int_equal(process_wait_status(pid, &status, &e), 0);
        assert_int_equal(status, 7);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                signal(SIGTERM, SIG_DFL);
                for (;;)
                        pause();
        }
        {
                int fd = pidfd_open_pid(pid);
                assert_int_equal(pidfd_signal(fd, SIGTERM), 0);
                close(fd);
        }
        assert_int_equal(process_wait_status(pid, &status, &e), 0);
        assert_int_equal(status, 128 + SIGTERM);
        assert_int_equal(process_wait_status(pid, &status, &e), -ECHILD);
        assert_non_null(e);
        error_free(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_start_time_and_alive),
                cmocka_unit_test(test_wait_status_and_zombie),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
