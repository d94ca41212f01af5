/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-runtime-hooks.c: OCI hooks run as real /bin/sh scripts: stdin, args, env, exit codes, timeouts */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <seccomp.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/strv.h"
#include "runtime/hooks.h"

#define STATE_JSON "{\"ociVersion\":\"1.1.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":42,\"bundle\":\"/b\"}"

/* The group's temp directory, where hooks leave what they saw. */
static char tmp_dir[256];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int group_setup(void **state)
{
        char tmpl[] = "/tmp/hull-test-hooks-XXXXXX";

        if (access("/bin/sh", X_OK) < 0 || access("/bin/cat", X_OK) < 0)
                return -1;
        if (!mkdtemp(tmpl))
                return -1;
        snprintf(tmp_dir, sizeof(tmp_dir), "%s", tmpl);
        return 0;
}

static int group_teardown(void **state)
{
        nftw(tmp_dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
        return 0;
}

/* tmp_dir/name, malloc'd. */
static char *tmp_path(const char *name)
{
        return xasprintf("%s/%s", tmp_dir, name);
}

/* A hook running `sh -c script` with extra positional arguments (NULL-terminated). */
static RtHook sh_hook(const char *script, ...)
{
        RtHook h = { .path = xstrdup("/bin/sh") };
        va_list ap;
        const char *a;

        strv_push(&h.args, "sh");
        strv_push(&h.args, "-c");
        strv_push(&h.args, script);
        va_start(ap, script);
        while ((a = va_arg(ap, const char *)))
                strv_push(&h.args, a);
        va_end(ap);
        return h;
}

static void hooks_free(RtHook *h, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(h[i].path);
                strv_free(h[i].args);
                strv_free(h[i].env);
        }
}

static char *slurp(const char *path)
{
        char *s = NULL;
        if (read_file_at(AT_FDCWD, path, &s, NULL, NULL) < 0)
                return NULL;
        return s;
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_no_hooks(void **state)
{
        assert_int_equal(rt_hooks_run(NULL, 0, RT_HOOK_PRESTART, STATE_JSON, NULL), 0);
}

static void test_state_on_stdin(void **state)
{
        _cleanup_free_ char *out = tmp_path("stdin");
        _cleanup_free_ char *got = NULL;
        _cleanup_error_ Error *e = NULL;
        RtHook h[1];
        int r;

        h[0] = sh_hook("exec /bin/cat > \"$0\"", out, NULL);
        r = rt_hooks_run(h, 1, RT_HOOK_CREATE_RUNTIME, STATE_JSON, &e);
        hooks_free(h, 1);
        if (r < 0)
                fail_msg("%s", error_message(e, r));
        got = slurp(out);
        assert_non_null(got);
        /* Exactly the state, and then EOF (cat returned, so stdin was closed). */
        assert_string_equal(got, STATE_JSON);
}

static void test_args_exact(void **state)
{
        _cleanup_free_ char *out = tmp_path("args");
        _cleanup_free_ char *got = NULL;
        RtHook h[1];

        /* Arguments with spaces, quotes, globs and an empty one arrive unsplit and unexpanded. */
        h[0] = sh_hook("printf '%s|' \"$#\" \"$@\" > \"$0\"", out, "a b", "", "*", "'q'", "$HOME", NULL);
        assert_int_equal(rt_hooks_run(h, 1, RT_HOOK_PRESTART, STATE_JSON, NULL), 0);
        hooks_free(h, 1);
        got = slurp(out);
        assert_non_null(got);
        assert_string_equal(got, "5|a b||*|'q'|$HOME|");
}

static void test_argv0_and_path(void **state)
{
        _cleanup_free_ char *out = tmp_path("argv0");
        _cleanup_free_ char *script = tmp_path("argv0.sh");
        _cleanup_free_ char *body = xasprintf("#!/bin/sh\necho \"$0 $#\" > '%s'\n", out);
        _cleanup_free_ char *got = NULL;
        _cleanup_free_ char *want = NULL;
        RtHook h[1] = { { .path = script } };

        /* Without args the program gets its path as argv[0] and nothing else. */
        assert_int_equal(write_file_atomic_at(AT_FDCWD, script, body, strlen(body), 0755, NULL), 0);
        assert_int_equal(rt_hooks_run(h, 1, RT_HOOK_POSTSTOP, STATE_JSON, NULL), 0);
        got = slurp(out);
        want = xasprintf("%s 0\n", script);
        assert_string_equal(got, want);
}

/* Runs a hook with env that copies the environment block it was started with to tmp_dir/env. */
static void run_env_hook(char **env)
{
        _cleanup_free_ char *out = tmp_path("env");
        _cleanup_error_ Error *e = NULL;
        RtHook h[1];
        int r;

        /* /proc/PID/environ is what execve() passed, before the shell adds anything. */
        h[0] = sh_hook("/bin/cat /proc/$$/environ > \"$0\"", out, NULL);
        h[0].env = strv_copy(env);
        if (!env)
                h[0].env = strv_free(h[0].env);
        r = rt_hooks_run(h, 1, RT_HOOK_PRESTART, STATE_JSON, &e);
        hooks_free(h, 1);
        if (r < 0)
                fail_msg("%s", error_message(e, r));
}

static void test_env_exact(void **state)
{
        char *env[] = { "A=1", "B=two words", "EMPTY=", NULL };
        _cleanup_free_ char *out = tmp_path("env");
        _cleanup_free_ char *got = NULL;
        size_t len = 0;
        static const char want[] = "A=1\0B=two words\0EMPTY=\0";

        setenv("HULL_TEST_LEAK", "1", 1);
        run_env_hook(env);
        assert_int_equal(read_file_at(AT_FDCWD, out, &got, &len, NULL), 0);
        assert_int_equal(len, sizeof(want) - 1);
        assert_memory_equal(got, want, sizeof(want) - 1);
        unsetenv("HULL_TEST_LEAK");
}

static void test_env_empty_when_none(void **state)
{
        _cleanup_free_ char *out = tmp_path("env");
        _cleanup_free_ char *got = NULL;
        size_t len = 99;

        /* Nothing of the caller's environment leaks into a hook that sets none. */
        setenv("HULL_TEST_LEAK", "1", 1);
        run_env_hook(NULL);
        unsetenv("HULL_TEST_LEAK");
        assert_int_equal(read_file_at(AT_FDCWD, out, &got, &len, NULL), 0);
        assert_int_equal(len, 0);
}

static void test_failure_names_hook(void **state)
{
        _cleanup_free_ char *marker = tmp_path("later-ran");
        _cleanup_error_ Error *e = NULL;
        RtHook h[3];
        int r;

        unlink(marker);
        h[0] = sh_hook("exit 0", NULL);
        h[1] = sh_hook("exit 3", NULL);
        h[2] = sh_hook(": > \"$0\"", marker, NULL);
        r = rt_hooks_run(h, 3, RT_HOOK_CREATE_CONTAINER, STATE_JSON, &e);
        hooks_free(h, 3);
        assert_true(r < 0);
        assert_non_null(e);
        assert_int_equal(r, -e->code);
        assert_non_null(strstr(e->msg, "createContainer"));
        assert_non_null(strstr(e->msg, "#1"));
        assert_non_null(strstr(e->msg, "3"));
        /* Later hooks do not run. */
        assert_int_equal(access(marker, F_OK), -1);
}

static void test_killed_by_signal_fails(void **state)
{
        _cleanup_error_ Error *e = NULL;
        RtHook h[1];
        int r;

        h[0] = sh_hook("kill -KILL $$", NULL);
        r = rt_hooks_run(h, 1, RT_HOOK_POSTSTART, STATE_JSON, &e);
        hooks_free(h, 1);
        assert_true(r < 0);
        assert_non_null(strstr(e->msg, "poststart"));
        assert_non_null(strstr(e->msg, "#0"));
}

static void test_missing_program_fails(void **state)
{
        _cleanup_error_ Error *e = NULL;
        RtHook h[1] = { { .path = "/nonexistent/hook" } };
        int r;

        r = rt_hooks_run(h, 1, RT_HOOK_START_CONTAINER, STATE_JSON, &e);
        assert_true(r < 0);
        assert_non_null(e);
        assert_non_null(strstr(e->msg, "startContainer"));
        assert_non_null(strstr(e->msg, "/nonexistent/hook"));
}

static void test_timeout_kills(void **state)
{
        _cleanup_free_ char *pidfile = tmp_path("timeout-pid");
        _cleanup_free_ char *marker = tmp_path("after-timeout");
        _cleanup_free_ char *pid_text = NULL;
        _cleanup_error_ Error *e = NULL;
        RtHook h[2];
        double t0, elapsed;
        pid_t pid;
        int r;

        unlink(marker);
        h[0] = sh_hook("echo $$ > \"$0\"; exec /bin/sleep 5", pidfile, NULL);
        h[0].timeout = 1;
        h[1] = sh_hook(": > \"$0\"", marker, NULL);
        t0 = now_s();
        r = rt_hooks_run(h, 2, RT_HOOK_PRESTART, STATE_JSON, &e);
        elapsed = now_s() - t0;
        hooks_free(h, 2);

        assert_int_equal(r, -ETIMEDOUT);
        assert_non_null(e);
        assert_non_null(strstr(e->msg, "prestart"));
        assert_non_null(strstr(e->msg, "#0"));
        if (elapsed < 0.9 || elapsed > 1.5)
                fail_msg("returned after %.2f s, not about 1 s", elapsed);
        /* The hook is gone (killed and reaped), and the next hook never ran. */
        pid_text = slurp(pidfile);
        assert_non_null(pid_text);
        pid = (pid_t)atoi(pid_text);
        assert_true(pid > 0);
        assert_int_equal(kill(pid, 0), -1);
        assert_int_equal(errno, ESRCH);
        assert_int_equal(access(marker, F_OK), -1);
}

static void test_timeout_not_hit(void **state)
{
        RtHook h[1];
        int r;

        /* A hook that finishes within its timeout succeeds. */
        h[0] = sh_hook("exec /bin/cat > /dev/null", NULL);
        h[0].timeout = 5;
        r = rt_hooks_run(h, 1, RT_HOOK_PRESTART, STATE_JSON, NULL);
        hooks_free(h, 1);
        assert_int_equal(r, 0);
}

static char *big_state(void)
{
        size_t n = 1024 * 1024;
        char *s = xmalloc(n + 1);

        memset(s, 'x', n);
        s[0] = '"';
        s[n - 1] = '"';
        s[n] = 0;
        return s;
}

static void test_large_state_unread(void **state)
{
        _cleanup_free_ char *big = big_state();
        _cleanup_free_ char *out = tmp_path("big");
        _cleanup_free_ char *got = NULL;
        struct sigaction before, after;
        RtHook h[3];
        size_t len = 0;
        double t0;
        int r;

        assert_int_equal(sigaction(SIGPIPE, NULL, &before), 0);
        /* One exits at once, one lingers a little without reading: neither may block or kill us. */
        h[0] = sh_hook("exit 0", NULL);
        h[1] = sh_hook("/bin/sleep 0.3", NULL);
        h[2] = sh_hook("exec /bin/cat > \"$0\"", out, NULL);
        h[1].timeout = 10;
        t0 = now_s();
        r = rt_hooks_run(h, 3, RT_HOOK_PRESTART, big, NULL);
        hooks_free(h, 3);
        assert_int_equal(r, 0);
        assert_true(now_s() - t0 < 5);
        /* A hook that reads gets all of it. */
        assert_int_equal(read_file_at(AT_FDCWD, out, &got, &len, NULL), 0);
        assert_int_equal(len, strlen(big));
        assert_memory_equal(got, big, len);
        /* And the caller's SIGPIPE disposition is back as it was. */
        assert_int_equal(sigaction(SIGPIPE, NULL, &after), 0);
        assert_ptr_equal(after.sa_handler, before.sa_handler);
}

static void test_large_state_partial_read(void **state)
{
        _cleanup_free_ char *big = big_state();
        RtHook h[1];
        int r;

        /* Reads a little, then closes stdin and succeeds. */
        h[0] = sh_hook("/bin/dd bs=1k count=1 of=/dev/null 2>/dev/null; exec 0<&-; /bin/sleep 0.1", NULL);
        r = rt_hooks_run(h, 1, RT_HOOK_POSTSTOP, big, NULL);
        hooks_free(h, 1);
        assert_int_equal(r, 0);
}

static void test_hook_signals_clean(void **state)
{
        _cleanup_free_ char *out = tmp_path("sigs");
        _cleanup_free_ char *got = NULL;
        unsigned long long ignored = 0, blocked = 0;
        RtHook h[1];
        int r;

        /* The hook starts with default dispositions: the SIGPIPE ignored while feeding it is the
         * runtime's own business, not something a caller with SIGPIPE at default passes on. */
        signal(SIGPIPE, SIG_DFL);
        /* exec: grep reads its own status, so a shell that blocks SIGCHLD around its waits is not
         * caught in the act. */
        h[0] = sh_hook("exec /bin/grep -E '^Sig(Ign|Blk)' /proc/self/status > \"$0\"", out, NULL);
        r = rt_hooks_run(h, 1, RT_HOOK_PRESTART, STATE_JSON, NULL);
        hooks_free(h, 1);
        assert_int_equal(r, 0);
        got = slurp(out);
        assert_non_null(got);
        assert_non_null(strstr(got, "SigIgn:"));
        assert_int_equal(sscanf(strstr(got, "SigBlk:"), "SigBlk: %llx", &blocked), 1);
        assert_int_equal(sscanf(strstr(got, "SigIgn:"), "SigIgn: %llx", &ignored), 1);
        assert_true(blocked == 0);
        if (ignored & (1ULL << (SIGPIPE - 1)))
                fail_msg("the hook starts with SIGPIPE ignored (SigIgn: %llx)", ignored);
}

static void test_no_pidfd_does_not_hang(void **state)
{
        pid_t pid;
        int status;

        /*
         * In a child where pidfd_open(2) fails as on kernels before 5.3, under valgrind or under an
         * older container seccomp profile: the call may fail or cope, but must return. SIGALRM ends
         * the child if it hangs.
         */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGALRM, SIGSYS };
                scmp_filter_ctx ctx;
                Error *e = NULL;
                RtHook h[1];
                int r;

                for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
                        signal(sigs[i], SIG_DFL);
                h[0] = sh_hook("exit 0", NULL);
                ctx = seccomp_init(SCMP_ACT_ALLOW);
                if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(pidfd_open), 0) < 0 ||
                    seccomp_load(ctx) < 0)
                        _exit(3);
                alarm(5);
                r = rt_hooks_run(h, 1, RT_HOOK_PRESTART, STATE_JSON, &e);
                _exit(r >= 0 ? 0 : e ? 1 : 2);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status))
                fail_msg("rt_hooks_run did not return when pidfd_open(2) fails (signal %d)", WTERMSIG(status));
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 3) {
                print_message("skipped: cannot load a seccomp filter here\n");
                skip();
        }
        assert_true(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_hooks),
                cmocka_unit_test(test_state_on_stdin),
                cmocka_unit_test(test_args_exact),
                cmocka_unit_test(test_argv0_and_path),
                cmocka_unit_test(test_env_exact),
                cmocka_unit_test(test_env_empty_when_none),
                cmocka_unit_test(test_failure_names_hook),
                cmocka_unit_test(test_killed_by_signal_fails),
                cmocka_unit_test(test_missing_program_fails),
                cmocka_unit_test(test_timeout_kills),
                cmocka_unit_test(test_timeout_not_hit),
                cmocka_unit_test(test_large_state_unread),
                cmocka_unit_test(test_large_state_partial_read),
                cmocka_unit_test(test_hook_signals_clean),
                cmocka_unit_test(test_no_pidfd_does_not_hang),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
