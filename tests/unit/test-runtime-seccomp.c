/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-runtime-seccomp.c: seccomp profiles built by libseccomp and loaded into forked children */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <seccomp.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "runtime/seccomp.h"

/* Every child dies of SIGALRM rather than hang the suite if a notification is never answered. */
#define CHILD_TIMEOUT_S 20

/* Exit codes of a child that fails before its test body runs. */
#define CHILD_NNP_FAILED 100
#define CHILD_LOAD_FAILED 101

typedef int (*ChildFn)(int notify_fd, void *userdata);

/*
 * Formats a profile, parses it and runs rt_seccomp_prepare() with where = "linux.seccomp". Profiles
 * are written with ' for " to keep them readable.
 */
_printf_(3, 4) static int prepare_fmt(RtSeccomp **ret, Error **err, const char *fmt, ...)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_t *j = NULL;
        json_error_t jerr;
        va_list ap;

        va_start(ap, fmt);
        text = xvasprintf(fmt, ap);
        va_end(ap);
        for (char *c = text; *c; c++)
                if (*c == '\'')
                        *c = '"';
        j = json_loads(text, 0, &jerr);
        if (!j)
                fail_msg("bad test JSON: %s: %s", jerr.text, text);
        return rt_seccomp_prepare(j, "linux.seccomp", -1, ret, err);
}

#define PREPARE_OK(s, ...)                                                                               \
        do {                                                                                             \
                _cleanup_error_ Error *_e = NULL;                                                        \
                int _r = prepare_fmt(&(s), &_e, __VA_ARGS__);                                            \
                if (_r < 0)                                                                              \
                        fail_msg("prepare: %s", error_message(_e, _r));                                  \
                assert_non_null(s);                                                                      \
        } while (0)

/*
 * Forks a child that sets no_new_privs (so no privilege is needed), loads s and exits with fn's
 * result; returns the child's wait status. The parent keeps running as it was.
 */
static int run_child_async(RtSeccomp *s, ChildFn fn, void *userdata, pid_t *ret_pid)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit no_core = { 0, 0 };
                _cleanup_error_ Error *e = NULL;
                int notify_fd;

                /* cmocka catches SIGSYS (and SIGSEGV, ...) to carry on with the next test: here that
                 * would run the rest of the suite in the child. */
                for (int sig = 1; sig < NSIG; sig++)
                        (void)signal(sig, SIG_DFL);
                alarm(CHILD_TIMEOUT_S);
                (void)setrlimit(RLIMIT_CORE, &no_core); /* SIGSYS would dump core */
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(CHILD_NNP_FAILED);
                if (rt_seccomp_load(s, &notify_fd, &e) < 0) {
                        fprintf(stderr, "child: %s\n", error_message(e, 0));
                        _exit(CHILD_LOAD_FAILED);
                }
                _exit(fn(notify_fd, userdata));
        }
        *ret_pid = pid;
        return 0;
}

static int wait_child(pid_t pid)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                assert_int_equal(errno, EINTR);
        return status;
}

static int run_child(RtSeccomp *s, ChildFn fn, void *userdata)
{
        pid_t pid;

        run_child_async(s, fn, userdata, &pid);
        return wait_child(pid);
}

static void assert_child_ok(int status)
{
        if (WIFSIGNALED(status))
                fail_msg("child killed by signal %d", WTERMSIG(status));
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void assert_child_sigsys(int status)
{
        if (WIFEXITED(status))
                fail_msg("child exited with %d, expected SIGSYS", WEXITSTATUS(status));
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* 0 when the call failed with errno e, else a distinct code for the failure message. */
static int expect_errno(long r, int e)
{
        if (r != -1)
                return 10;
        return errno == e ? 0 : 11;
}

static long raw_getcwd(void)
{
        char buf[PATH_MAX];
        return syscall(SYS_getcwd, buf, sizeof(buf));
}

/* --- parsing --- */

static void test_prepare_null(void **state)
{
        RtSeccomp *s = (RtSeccomp *)0x1;

        assert_int_equal(rt_seccomp_prepare(NULL, "linux.seccomp", -1, &s, NULL), 0);
        assert_null(s);
        assert_null(rt_seccomp_listener_path(NULL));
}

typedef struct BadCase {
        const char *json;
        int code;
        const char *message; /* a prefix of the error message */
} BadCase;

/* The head of most bad profiles, and of one whose single rule is bad: READ_RULE(", 'args': [...]"). */
#define ALLOW "{'defaultAction':'SCMP_ACT_ALLOW'"
#define READ_RULE(rest) ALLOW ",'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO'" rest "}]}"
#define EQ_1(index) "{'index':" #index ",'value':1,'op':'SCMP_CMP_EQ'}"

static const BadCase bad_cases[] = {
        { "[]", EINVAL, "linux.seccomp: expected an object" },
        { "{}", EINVAL, "linux.seccomp.defaultAction: required" },
        { "{'defaultAction':'SCMP_ACT_NOPE'}", EINVAL,
          "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_NOPE'" },
        { ALLOW ",'defaultErrnoRet':1}", EINVAL,
          "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE" },
        { "{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':-1}", EINVAL,
          "linux.seccomp.defaultErrnoRet: -1 is out of range" },
        { "{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':5000}", EINVAL,
          "linux.seccomp.defaultErrnoRet: 5000 is out of range" },
        { "{'defaultAction':'SCMP_ACT_NOTIFY','listenerPath':'/x'}", EINVAL,
          "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action" },
        { ALLOW ",'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_VAX']}", EINVAL,
          "linux.seccomp.architectures[1]: unknown architecture 'SCMP_ARCH_VAX'" },
        { ALLOW ",'architectures':'SCMP_ARCH_X86'}", EINVAL,
          "linux.seccomp.architectures: expected an array" },
        { ALLOW ",'flags':['SECCOMP_FILTER_FLAG_FOO']}", EINVAL,
          "linux.seccomp.flags[0]: unknown flag 'SECCOMP_FILTER_FLAG_FOO'" },
        { ALLOW ",'syscalls':{}}", EINVAL, "linux.seccomp.syscalls: expected an array" },
        { ALLOW ",'syscalls':["
                "{'names':['read'],'action':'SCMP_ACT_ERRNO'},"
                "{'names':['write'],'action':'SCMP_ACT_ERRNO'},"
                "{'names':['open'],'action':'SCMP_ACT_ERRNO'},"
                "{'names':['close'],'action':'SCMP_ACT_FOO'}]}",
          EINVAL, "linux.seccomp.syscalls[3].action: unknown action 'SCMP_ACT_FOO'" },
        { ALLOW ",'syscalls':['read']}", EINVAL, "linux.seccomp.syscalls[0]: expected an object" },
        { ALLOW ",'syscalls':[{'names':['read']}]}", EINVAL, "linux.seccomp.syscalls[0].action: required" },
        { ALLOW ",'syscalls':[{'names':[],'action':'SCMP_ACT_LOG'}]}", EINVAL,
          "linux.seccomp.syscalls[0].names: expected at least one syscall name" },
        { ALLOW ",'syscalls':[{'names':['read',7],'action':'SCMP_ACT_LOG'}]}", EINVAL,
          "linux.seccomp.syscalls[0].names[1]: expected a string" },
        { ALLOW ",'syscalls':[{'names':[''],'action':'SCMP_ACT_LOG'}]}", EINVAL,
          "linux.seccomp.syscalls[0].names[0]: empty syscall name" },
        { ALLOW ",'syscalls':[{'names':['read'],'action':'SCMP_ACT_KILL','errnoRet':1}]}", EINVAL,
          "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE" },
        { READ_RULE(",'args':[" EQ_1(0) "," EQ_1(6) "]"), EINVAL,
          "linux.seccomp.syscalls[0].args[1].index: 6 is out of range [0, 5]" },
        { READ_RULE(",'args':[{'index':0,'value':1,'op':'SCMP_CMP_FOO'}]"), EINVAL,
          "linux.seccomp.syscalls[0].args[0].op: unknown operator 'SCMP_CMP_FOO'" },
        { READ_RULE(",'args':[{'index':0,'value':1}]"), EINVAL,
          "linux.seccomp.syscalls[0].args[0].op: required" },
        { READ_RULE(",'args':[{'index':0,'value':-1,'op':'SCMP_CMP_EQ'}]"), EINVAL,
          "linux.seccomp.syscalls[0].args[0].value: expected an unsigned integer" },
        { READ_RULE(",'args':[7]"), EINVAL, "linux.seccomp.syscalls[0].args[0]: expected an object" },
        { ALLOW ",'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_NOTIFY'}]}", EINVAL,
          "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY rules" },
        { ALLOW ",'listenerPath':7}", EINVAL, "linux.seccomp.listenerPath: expected a string" },
};

static void test_parse_errors(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
                const BadCase *c = &bad_cases[i];
                _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
                _cleanup_error_ Error *e = NULL;
                int r = prepare_fmt(&s, &e, "%s", c->json);

                if (r != -c->code || !e || strncmp(e->msg, c->message, strlen(c->message)) != 0)
                        fail_msg("case %zu: got %d '%s', expected -%d '%s'", i, r, error_message(e, r),
                                 c->code, c->message);
                assert_null(s);
        }
}

static void test_wait_killable_flag(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        _cleanup_error_ Error *e = NULL;
        int r;

        r = prepare_fmt(&s, &e, "{'defaultAction':'SCMP_ACT_ALLOW',"
                                "'flags':['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']}");
        if (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR < 6) {
                assert_int_equal(r, -EOPNOTSUPP);
                assert_non_null(strstr(e->msg, "flags[0]: 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'"));
        } else if (r < 0) {
                /* libseccomp 2.6 knows it; an old kernel may not. */
                assert_int_equal(r, -EOPNOTSUPP);
        }
}

/* A rule with the default action is dropped (libseccomp would refuse it with EACCES). */
static void test_rule_equal_to_default(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *a = NULL, *b = NULL;

        PREPARE_OK(a, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],"
                      "'action':'SCMP_ACT_ALLOW'}]}");
        /* ERRNO(EPERM) equals the default; ERRNO(EXDEV) does not and is added. */
        PREPARE_OK(b, "{'defaultAction':'SCMP_ACT_ERRNO','syscalls':["
                      "{'names':['read'],'action':'SCMP_ACT_ERRNO'},"
                      "{'names':['write'],'action':'SCMP_ACT_ERRNO','errnoRet':%d}]}",
                   EXDEV);
}

/* --- loading, one forked child each --- */

static int child_no_notify_fd(int notify_fd, void *userdata)
{
        return notify_fd == -EBADF && getpid() > 0 ? 0 : 1;
}

static void test_allow_no_syscalls(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW'}");
        assert_null(rt_seccomp_listener_path(s));
        assert_child_ok(run_child(s, child_no_notify_fd, NULL));
}

static int child_mkdir_getcwd(int notify_fd, void *userdata)
{
        const char *dir = userdata;
        _cleanup_free_ char *path = xasprintf("%s/sub", dir);

        if (mkdir(path, 0755) != -1 || errno != ENOSPC)
                return 2;
        return expect_errno(raw_getcwd(), EPERM);
}

static void test_errno(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        char dir[] = "/tmp/hull-seccomp-XXXXXX";

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':["
                      "{'names':['mkdir','mkdirat'],'action':'SCMP_ACT_ERRNO','errnoRet':%d},"
                      "{'names':['getcwd'],'action':'SCMP_ACT_ERRNO'}]}",
                   ENOSPC);
        assert_non_null(mkdtemp(dir));
        assert_child_ok(run_child(s, child_mkdir_getcwd, dir));
        assert_int_equal(rmdir(dir), 0); /* nothing was made inside */
}

static int child_getcwd_exdev(int notify_fd, void *userdata)
{
        return expect_errno(raw_getcwd(), EXDEV);
}

/* The one file in the cache directory dfd, which must have one. */
static char *cache_file(int dfd)
{
        _cleanup_close_ int fd = dup(dfd);
        DIR *d;
        struct dirent *de;
        char *name = NULL;

        assert_true(fd >= 0);
        d = fdopendir(TAKE_FD(fd));
        assert_non_null(d);
        rewinddir(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        assert_null(name);
                        name = xstrdup(de->d_name);
                }
        closedir(d);
        assert_non_null(name);
        return name;
}

/*
 * A compiled profile is cached with its key; the cached program is what a second prepare loads;
 * a file under the same name holding another key (a name collision, or a stale file) is not used
 * but compiled over.
 */
static void test_cache(void **state)
{
        const char *profile = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],"
                              "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":18}]}";
        char dir[] = "/tmp/hull-seccomp-cache-XXXXXX";
        _cleanup_json_ json_t *j = json_loads(profile, 0, NULL);
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *name = NULL, *buf = NULL, *name2 = NULL;
        const char *bogus = "{}\n0.0.0\n0";
        size_t len;

        assert_non_null(j);
        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        for (int round = 0; round < 2; round++) {
                _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

                assert_int_equal(rt_seccomp_prepare(j, NULL, dfd, &s, NULL), 0);
                assert_child_ok(run_child(s, child_getcwd_exdev, NULL));
        }
        name = cache_file(dfd);
        assert_int_equal(read_file_at(dfd, name, &buf, &len, NULL), 0);
        assert_true(len > strlen(buf) + 1);
        assert_non_null(strstr(buf, "getcwd"));

        /* Another key under the name, with a program that allows everything. */
        {
                static const unsigned char allow[8] = { 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f }; /* ret ALLOW */
                _cleanup_free_ char *fake = xmalloc(strlen(bogus) + 1 + sizeof(allow));
                _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

                memcpy(fake, bogus, strlen(bogus) + 1);
                memcpy(fake + strlen(bogus) + 1, allow, sizeof(allow));
                assert_int_equal(write_file_atomic_at(dfd, name, fake, strlen(bogus) + 1 + sizeof(allow), 0600, NULL), 0);
                assert_int_equal(rt_seccomp_prepare(j, NULL, dfd, &s, NULL), 0);
                assert_child_ok(run_child(s, child_getcwd_exdev, NULL));
        }
        name2 = cache_file(dfd);
        assert_string_equal(name, name2);
        free(buf);
        buf = NULL;
        assert_int_equal(read_file_at(dfd, name, &buf, &len, NULL), 0);
        assert_non_null(strstr(buf, "getcwd")); /* compiled over */
        assert_int_equal(unlinkat(dfd, name, 0), 0);
        assert_int_equal(rmdir(dir), 0);
}

/* A deny-by-default profile: defaultErrnoRet applies to everything not listed (sigaltstack and
 * madvise are for sanitizer builds). */
static void test_default_errno(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':%d,'syscalls':["
                      "{'names':['exit','exit_group','brk','mmap','munmap','mprotect','futex',"
                      "'rt_sigreturn','rt_sigprocmask','rt_sigaction','write','madvise',"
                      "'sigaltstack'],'action':'SCMP_ACT_ALLOW'}]}",
                   EXDEV);
        assert_child_ok(run_child(s, child_getcwd_exdev, NULL));
}

/* Profiles name syscalls this libseccomp has never heard of: skipped, the rest applies. */
static void test_unknown_syscall_skipped(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':["
                      "{'names':['hull_no_such_syscall','getcwd'],'action':'SCMP_ACT_ERRNO',"
                      "'errnoRet':%d},"
                      "{'names':['hull_no_such_syscall_either'],'action':'SCMP_ACT_KILL'}]}",
                   EXDEV);
        assert_child_ok(run_child(s, child_getcwd_exdev, NULL));
}

static int child_personality(int notify_fd, void *userdata)
{
        if (personality(0xffffffff) == -1)
                return 2;
        return expect_errno(personality(PER_LINUX32), EACCES);
}

/* runc's personality rule: only the query form, arg0 == 0xffffffff, passes. */
static void test_arg_ne(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['personality'],"
                      "'action':'SCMP_ACT_ERRNO','errnoRet':%d,"
                      "'args':[{'index':0,'value':4294967295,'op':'SCMP_CMP_NE'}]}]}",
                   EACCES);
        assert_child_ok(run_child(s, child_personality, NULL));
}

static int child_fchmod(int notify_fd, void *userdata)
{
        int fd = *(int *)userdata;

        if (fchmod(fd, 0644) < 0)
                return 2;
        return expect_errno(fchmod(fd, 04755), EPERM);
}

/* MASKED_EQ: value is the mask, valueTwo the datum; setuid bits are refused. */
static void test_arg_masked_eq(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        _cleanup_close_ int fd = -EBADF;
        char path[] = "/tmp/hull-seccomp-XXXXXX";

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['fchmod'],"
                      "'action':'SCMP_ACT_ERRNO',"
                      "'args':[{'index':1,'value':%d,'valueTwo':%d,'op':'SCMP_CMP_MASKED_EQ'}]}]}",
                   S_ISUID, S_ISUID);
        fd = mkostemp(path, O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(unlink(path), 0);
        assert_child_ok(run_child(s, child_fchmod, &fd));
}

static int child_getpriority(int notify_fd, void *userdata)
{
        if (syscall(SYS_getpriority, PRIO_PROCESS, getpid()) < 0)
                return 2;
        if (syscall(SYS_getpriority, PRIO_PGRP, 0) < 0)
                return 3;
        return expect_errno(syscall(SYS_getpriority, PRIO_PROCESS, 0), EXDEV);
}

/* Conditions on different arguments are ANDed into one rule. */
static void test_args_and(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getpriority'],"
                      "'action':'SCMP_ACT_ERRNO','errnoRet':%d,'args':["
                      "{'index':0,'value':%d,'op':'SCMP_CMP_EQ'},"
                      "{'index':1,'value':0,'op':'SCMP_CMP_EQ'}]}]}",
                   EXDEV, PRIO_PROCESS);
        assert_child_ok(run_child(s, child_getpriority, NULL));
}

static int child_umask(int notify_fd, void *userdata)
{
        int r;

        r = expect_errno(syscall(SYS_umask, 022), EXDEV);
        if (r == 0)
                r = expect_errno(syscall(SYS_umask, 077), EXDEV);
        if (r == 0 && syscall(SYS_umask, 027) < 0)
                r = 2;
        return r;
}

/* Two conditions on one argument: as runc, one rule each, so they are ORed. */
static void test_args_same_index_or(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['umask'],"
                      "'action':'SCMP_ACT_ERRNO','errnoRet':%d,'args':["
                      "{'index':0,'value':%d,'op':'SCMP_CMP_EQ'},"
                      "{'index':0,'value':%d,'op':'SCMP_CMP_EQ'}]}]}",
                   EXDEV, 022, 077);
        assert_child_ok(run_child(s, child_umask, NULL));
}

static int child_getppid(int notify_fd, void *userdata)
{
        long expected = userdata ? *(long *)userdata : -1;
        long r = syscall(SYS_getppid);

        if (expected >= 0)
                return r == expected ? 0 : 1;
        return r > 0 ? 0 : 1;
}

static void run_getppid_with(const char *action, int expect_signal)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        int status;

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],"
                      "'action':'%s'}]}",
                   action);
        status = run_child(s, child_getppid, NULL);
        if (expect_signal)
                assert_child_sigsys(status);
        else
                assert_child_ok(status);
}

static void test_kill_process(void **state)
{
        run_getppid_with("SCMP_ACT_KILL_PROCESS", SIGSYS);
}

static void test_kill_thread(void **state)
{
        /* The only thread: the process dies of SIGSYS too. */
        run_getppid_with("SCMP_ACT_KILL", SIGSYS);
        run_getppid_with("SCMP_ACT_KILL_THREAD", SIGSYS);
}

static void test_trap_default(void **state)
{
        run_getppid_with("SCMP_ACT_TRAP", SIGSYS);
}

static void test_log(void **state)
{
        run_getppid_with("SCMP_ACT_LOG", 0);
}

static volatile sig_atomic_t trapped_syscall = -1;

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
        trapped_syscall = si->si_syscall;
}

static int child_trap_handler(int notify_fd, void *userdata)
{
        struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };

        if (sigaction(SIGSYS, &sa, NULL) < 0)
                return 2;
        (void)syscall(SYS_getppid);
        return trapped_syscall == SYS_getppid ? 0 : 3;
}

static void test_trap_handler(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],"
                      "'action':'SCMP_ACT_TRAP'}]}");
        assert_child_ok(run_child(s, child_trap_handler, NULL));
}

static int child_trace(int notify_fd, void *userdata)
{
        /* SECCOMP_RET_TRACE without a tracer: the kernel fails the syscall with ENOSYS. */
        return expect_errno(syscall(SYS_getppid), ENOSYS);
}

static void test_trace(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],"
                      "'action':'SCMP_ACT_TRACE','errnoRet':1234}]}");
        assert_child_ok(run_child(s, child_trace, NULL));
}

static void test_architectures(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
#if defined(__x86_64__)
        const char *archs = "'SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32'";
#elif defined(__aarch64__)
        const char *archs = "'SCMP_ARCH_AARCH64','SCMP_ARCH_ARM'";
#else
        const char *archs = "";
#endif

        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','architectures':[%s],'syscalls':["
                      "{'names':['getcwd','socketcall'],'action':'SCMP_ACT_ERRNO','errnoRet':%d}]}",
                   archs, EXDEV);
        assert_child_ok(run_child(s, child_getcwd_exdev, NULL));
}

static void test_flags(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;

        if (seccomp_api_get() < 4)
                skip();
        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_TSYNC',"
                      "'SECCOMP_FILTER_FLAG_LOG','SECCOMP_FILTER_FLAG_SPEC_ALLOW'],'syscalls':["
                      "{'names':['getcwd'],'action':'SCMP_ACT_ERRNO','errnoRet':%d}]}",
                   EXDEV);
        assert_child_ok(run_child(s, child_getcwd_exdev, NULL));
}

/* More rules than the binary-tree threshold. */
static void test_many_rules(void **state)
{
        static const char *const names[] = { "getcwd", "mkdir", "rmdir", "link", "symlink", "chown",
                                             "lchown", "fchown", "acct", "swapon", "swapoff", "reboot",
                                             "sethostname", "setdomainname", "init_module", "delete_module",
                                             "quotactl", "pivot_root", "mount", "umount2", "kexec_load",
                                             "bpf", "perf_event_open", "ptrace", "syslog", "settimeofday",
                                             "clock_settime", "adjtimex", "iopl", "ioperm", "unshare",
                                             "setns", "open_by_handle_at", "name_to_handle_at" };
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        _cleanup_free_ char *entries = xstrdup("");

        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                char *e = xasprintf("%s%s{'names':['%s'],'action':'SCMP_ACT_ERRNO','errnoRet':%d}",
                                    entries, i ? "," : "", names[i], EXDEV);
                free(entries);
                entries = e;
        }
        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[%s]}", entries);
        assert_child_ok(run_child(s, child_getcwd_exdev, NULL));
}

/* --- notify and the listener --- */

typedef struct Listener {
        char *path;
        int fd;
        char dir[64];
} Listener;

/* A listening unix socket at dir/name; through /proc/self/fd when the path is too long to bind. */
static void listener_open(Listener *l, const char *name)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int dir_fd = -EBADF;
        _cleanup_free_ char *bind_path = NULL;

        strcpy(l->dir, "/tmp/hull-seccomp-XXXXXX");
        assert_non_null(mkdtemp(l->dir));
        l->path = xasprintf("%s/%s", l->dir, name);
        dir_fd = open(l->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(dir_fd >= 0);
        bind_path = xasprintf("/proc/self/fd/%d/%s", dir_fd, name);
        assert_true(strlen(bind_path) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, bind_path);

        l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(l->fd >= 0);
        assert_int_equal(bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(l->fd, 4), 0);
}

static void listener_close(Listener *l)
{
        closep(&l->fd);
        (void)unlink(l->path);
        (void)rmdir(l->dir);
        free(l->path);
}

/* Accepts one connection and reads the message to EOF; *ret_fd gets the SCM_RIGHTS fd. */
static json_t *listener_receive(Listener *l, int *ret_fd)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = { 0 };
        struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
        _cleanup_close_ int conn = -EBADF;
        char buf[65536];
        size_t len = 0;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        struct cmsghdr *c;
        json_error_t jerr;
        json_t *j;
        ssize_t n;

        assert_int_equal(poll(&pfd, 1, CHILD_TIMEOUT_S * 1000), 1);
        conn = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(conn >= 0);
        n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
        assert_true(n > 0);
        len = (size_t)n;
        c = CMSG_FIRSTHDR(&mh);
        assert_non_null(c);
        assert_int_equal(c->cmsg_type, SCM_RIGHTS);
        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        while ((n = read(conn, buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t)n;
        j = json_loadb(buf, len, 0, &jerr);
        if (!j)
                fail_msg("listener got bad JSON: %s", jerr.text);
        return j;
}

static void assert_process_state(const json_t *msg, pid_t pid, const char *metadata)
{
        json_t *fds = json_object_get(msg, "fds");

        assert_string_equal(json_string_value(json_object_get(msg, "ociVersion")), "1.1.0");
        assert_int_equal(json_array_size(fds), 1);
        assert_string_equal(json_string_value(json_array_get(fds, 0)), "seccompFd");
        assert_int_equal(json_integer_value(json_object_get(msg, "pid")), pid);
        if (metadata)
                assert_string_equal(json_string_value(json_object_get(msg, "metadata")), metadata);
        else
                assert_null(json_object_get(msg, "metadata"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(msg, "state"), "status")),
                            "creating");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(msg, "state"), "pid")), pid);
}

static char *state_json_new(pid_t pid)
{
        return xasprintf("{\"ociVersion\":\"1.1.0\",\"id\":\"t1\",\"status\":\"creating\",\"pid\":%d,"
                         "\"bundle\":\"/b\",\"annotations\":{\"a\":\"b\"}}",
                         (int)pid);
}

#define NOTIFIED_PPID 4242

static int child_notify(int notify_fd, void *userdata)
{
        RtSeccomp *s = userdata;
        _cleanup_free_ char *state_json = state_json_new(getpid());
        int flags;

        if (notify_fd < 0)
                return 2;
        flags = fcntl(notify_fd, F_GETFD);
        if (flags < 0 || !(flags & FD_CLOEXEC))
                return 3;
        if (rt_seccomp_send_listener(s, notify_fd, state_json, NULL) < 0)
                return 4;
        close(notify_fd);
        /* Blocks until the parent, now holding the listener, answers. */
        return syscall(SYS_getppid) == NOTIFIED_PPID ? 0 : 5;
}

static void answer_one(int notify_fd)
{
        struct seccomp_notif *req = NULL;
        struct seccomp_notif_resp *resp = NULL;

        assert_int_equal(seccomp_notify_alloc(&req, &resp), 0);
        assert_int_equal(seccomp_notify_receive(notify_fd, req), 0);
        assert_int_equal(req->data.nr, SYS_getppid);
        resp->id = req->id;
        resp->val = NOTIFIED_PPID;
        resp->error = 0;
        resp->flags = 0;
        assert_int_equal(seccomp_notify_respond(notify_fd, resp), 0);
        seccomp_notify_free(req, resp);
}

static void test_notify(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        _cleanup_json_ json_t *msg = NULL;
        _cleanup_close_ int notify_fd = -EBADF;
        Listener l;
        pid_t pid;

        if (seccomp_api_get() < 6)
                skip();
        listener_open(&l, "agent.sock");
        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'%s',"
                      "'listenerMetadata':'MKNOD=/dev/null','syscalls':[{'names':['getppid'],"
                      "'action':'SCMP_ACT_NOTIFY'}]}",
                   l.path);
        assert_string_equal(rt_seccomp_listener_path(s), l.path);

        run_child_async(s, child_notify, s, &pid);
        msg = listener_receive(&l, &notify_fd);
        assert_process_state(msg, pid, "MKNOD=/dev/null");
        answer_one(notify_fd);
        assert_child_ok(wait_child(pid));
        listener_close(&l);
}

/* A listener path longer than sun_path, reached through /proc/self/fd; no metadata. */
static void test_send_listener_long_path(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        _cleanup_json_ json_t *msg = NULL;
        _cleanup_free_ char *name = NULL, *state_json = NULL;
        _cleanup_close_ int received = -EBADF;
        _cleanup_error_ Error *e = NULL;
        int pipe_fds[2];
        struct stat a, b;
        Listener l;

        /* 25 + 85 characters: too long for sun_path, short enough behind /proc/self/fd/N/. */
        name = xmalloc(86);
        memset(name, 's', 85);
        name[85] = 0;
        listener_open(&l, name);
        assert_true(strlen(l.path) > sizeof(((struct sockaddr_un *)NULL)->sun_path));
        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'%s'}", l.path);

        assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
        state_json = state_json_new(1234);
        if (rt_seccomp_send_listener(s, pipe_fds[0], state_json, &e) < 0)
                fail_msg("send: %s", e->msg);
        msg = listener_receive(&l, &received);
        assert_process_state(msg, 1234, NULL);
        assert_int_equal(fstat(received, &a), 0);
        assert_int_equal(fstat(pipe_fds[0], &b), 0);
        assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);

        close(pipe_fds[0]);
        close(pipe_fds[1]);
        listener_close(&l);
}

static void test_send_listener_errors(void **state)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *none = NULL, *s = NULL;
        _cleanup_error_ Error *e1 = NULL, *e2 = NULL, *e3 = NULL;

        PREPARE_OK(none, "{'defaultAction':'SCMP_ACT_ALLOW'}");
        assert_int_equal(rt_seccomp_send_listener(none, 0, "{\"pid\":1}", &e1), -EINVAL);
        PREPARE_OK(s, "{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/nonexistent/hull.sock'}");
        assert_int_equal(rt_seccomp_send_listener(s, 0, "{\"status\":\"creating\"}", &e2), -EINVAL);
        assert_non_null(strstr(e2->msg, "state.pid: required"));
        assert_int_equal(rt_seccomp_send_listener(s, 0, "{\"pid\":1}", &e3), -ENOENT);
        assert_non_null(strstr(e3->msg, "/nonexistent/hull.sock"));
}

/* --- features --- */

static bool array_has(const json_t *a, const char *s)
{
        size_t i;
        json_t *v;

        json_array_foreach (a, i, v)
                if (strcmp(json_string_value(v), s) == 0)
                        return true;
        return false;
}

static void test_features(void **state)
{
        _cleanup_json_ json_t *f = rt_seccomp_features();
        json_t *actions = json_object_get(f, "actions"), *operators = json_object_get(f, "operators");
        json_t *archs = json_object_get(f, "archs"), *known = json_object_get(f, "knownFlags");
        json_t *supported = json_object_get(f, "supportedFlags");

        assert_true(json_is_true(json_object_get(f, "enabled")));
        assert_int_equal(json_array_size(actions), 9);
        assert_true(array_has(actions, "SCMP_ACT_KILL_PROCESS"));
        assert_true(array_has(actions, "SCMP_ACT_NOTIFY"));
        assert_int_equal(json_array_size(operators), 7);
        assert_true(array_has(operators, "SCMP_CMP_MASKED_EQ"));
        assert_true(array_has(archs, "SCMP_ARCH_X86_64"));
        assert_true(array_has(archs, "SCMP_ARCH_RISCV64"));
        assert_int_equal(json_array_size(known), 4);
        assert_true(array_has(known, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
        if (seccomp_api_get() >= 4)
                assert_true(array_has(supported, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
        if (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR < 6)
                assert_false(array_has(supported, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_prepare_null),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_wait_killable_flag),
                cmocka_unit_test(test_rule_equal_to_default),
                cmocka_unit_test(test_allow_no_syscalls),
                cmocka_unit_test(test_errno),
                cmocka_unit_test(test_default_errno),
                cmocka_unit_test(test_unknown_syscall_skipped),
                cmocka_unit_test(test_arg_ne),
                cmocka_unit_test(test_arg_masked_eq),
                cmocka_unit_test(test_args_and),
                cmocka_unit_test(test_args_same_index_or),
                cmocka_unit_test(test_kill_process),
                cmocka_unit_test(test_kill_thread),
                cmocka_unit_test(test_trap_default),
                cmocka_unit_test(test_trap_handler),
                cmocka_unit_test(test_trace),
                cmocka_unit_test(test_log),
                cmocka_unit_test(test_architectures),
                cmocka_unit_test(test_flags),
                cmocka_unit_test(test_many_rules),
                cmocka_unit_test(test_notify),
                cmocka_unit_test(test_send_listener_long_path),
                cmocka_unit_test(test_send_listener_errors),
                cmocka_unit_test(test_features),
                cmocka_unit_test(test_cache),
        };

        /* Seccomp filters need Linux >= 3.5 and a kernel built with CONFIG_SECCOMP_FILTER. */
        if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
                fprintf(stderr, "seccomp is not available in this kernel\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
