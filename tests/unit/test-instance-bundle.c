/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-instance-bundle.c: config.json for `hull run`, as tables and as real busybox containers */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "instance/bundle.h"
#include "runtime/container.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

/* Docker's default capability set as /proc/PID/status shows it. */
#define DOCKER_CAP_MASK 0xa80425fbULL
#define TEST_ID "0123456789abcdef0123"

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/sh\n"
                                  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                                  "# a comment\n"
                                  "\n"
                                  "broken:x:notanumber:1::/:/bin/sh\n"
                                  "toobig:x:4294967296:1::/:/bin/sh\n"
                                  "app:x:1000:1000:App:/home/app:/bin/sh\n"
                                  "nohome:x:1001:1001\n"
                                  "+nisuser\n"
                                  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false";
static const char group_text[] = "root:x:0:\n"
                                 "wheel:x:10:root\n"
                                 "audio:x:29:other,app\n"
                                 "staff:x:50:app\n"
                                 "staff2:x:50:app\n"
                                 "app:x:1000:app\n"
                                 "bad:x:x:app\n"
                                 "nogroup:x:65534:\n";

/* The group's temp directory: rootfs/ (passwd and group above), and for the runs bb/ (busybox). */
static char tmp_dir[PATH_MAX];
static char rootfs[PATH_MAX + 16];
static int rootfs_fd = -EBADF;

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
        char tmpl[] = "/tmp/hull-test-bundle-XXXXXX";
        _cleanup_free_ char *etc = NULL, *passwd = NULL, *group = NULL;

        if (!mkdtemp(tmpl))
                return -1;
        snprintf(tmp_dir, sizeof(tmp_dir), "%s", tmpl);
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmp_dir);
        etc = xasprintf("%s/etc", rootfs);
        if (mkdir(rootfs, 0755) < 0 || mkdir(etc, 0755) < 0)
                return -1;
        passwd = xasprintf("%s/passwd", etc);
        group = xasprintf("%s/group", etc);
        write_file(passwd, passwd_text);
        write_file(group, group_text);
        rootfs_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return rootfs_fd < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
        if (rootfs_fd >= 0)
                close(rootfs_fd);
        rm_rf_at(AT_FDCWD, tmp_dir, NULL);
        return 0;
}

/* Test documents are written with ' for " to keep them readable. */
static json_t *image_config(const char *text)
{
        _cleanup_free_ char *s = xstrdup(text);
        json_t *j = NULL;

        for (char *c = s; *c; c++)
                if (*c == '\'')
                        *c = '"';
        assert_int_equal(json_parse(s, strlen(s), "test", &j, NULL), 0);
        return j;
}

/* Builds the config and checks it succeeded; the runtime's own parser must accept it as well. */
static json_t *config_ok(const char *image, const InstRunSpec *spec)
{
        _cleanup_json_ json_t *img = image ? image_config(image) : NULL;
        _cleanup_error_ Error *e = NULL;
        _cleanup_(rt_spec_freep) RtSpec *parsed = NULL;
        _cleanup_free_ char *text = NULL;
        json_t *c = NULL;
        int r;

        r = inst_bundle_config(img, spec, rootfs, rootfs_fd, &c, &e);
        if (r < 0)
                fail_msg("inst_bundle_config: %s", error_message(e, r));
        text = json_dump_compact(c);
        r = rt_spec_parse(text, strlen(text), &parsed, &e);
        if (r < 0)
                fail_msg("rt_spec_parse: %s\n  in: %s", error_message(e, r), text);
        return c;
}

/* Builds the config expecting failure r with a message containing what. */
static void config_fails(const char *image, const InstRunSpec *spec, int expected, const char *what)
{
        _cleanup_json_ json_t *img = image ? image_config(image) : NULL;
        _cleanup_error_ Error *e = NULL;
        json_t *c = NULL;
        int r;

        r = inst_bundle_config(img, spec, rootfs, rootfs_fd, &c, &e);
        if (r >= 0) {
                _cleanup_free_ char *text = json_dump_compact(c);
                json_decref(c);
                fail_msg("expected '%s', got success: %s", what, text);
        }
        assert_int_equal(r, expected);
        assert_non_null(e);
        if (!strstr(e->msg, what))
                fail_msg("expected '%s' in '%s'", what, e->msg);
        assert_null(c);
}

/* The value at a dotted path ("process.user.uid"); NULL if absent. */
static json_t *at(const json_t *j, const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;

        for (char *k = strtok_r(copy, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
                j = json_object_get(j, k);
        return (json_t *)j;
}

/* An array of strings joined with '|', malloc'd ("" for an empty or absent one). */
static char *joined(const json_t *j, const char *path)
{
        json_t *a = at(j, path), *v;
        char *s = xstrdup("");
        size_t i;

        json_array_foreach (a, i, v) {
                char *n = xasprintf("%s%s%s", s, i ? "|" : "", json_string_value(v));
                free(s);
                s = n;
        }
        return s;
}

static void assert_joined(const json_t *j, const char *path, const char *expected)
{
        _cleanup_free_ char *s = joined(j, path);

        if (strcmp(s, expected) != 0)
                fail_msg("%s: expected '%s', got '%s'", path, expected, s);
}

static const char *env_get(const json_t *c, const char *key)
{
        json_t *env = at(c, "process.env"), *v;
        size_t i, len = strlen(key);

        json_array_foreach (env, i, v) {
                const char *s = json_string_value(v);
                if (strncmp(s, key, len) == 0 && s[len] == '=')
                        return s + len + 1;
        }
        return NULL;
}

static void test_args(void **state)
{
        static const struct {
                const char *image;
                const char *entrypoint[3];
                const char *cmd[3];
                bool has_entrypoint;
                const char *expected;
        } cases[] = {
                { "{'config': {'Entrypoint': ['/ep', '-x'], 'Cmd': ['a', 'b']}}", {}, {}, false, "/ep|-x|a|b" },
                { "{'config': {'Entrypoint': ['/ep'], 'Cmd': ['a']}}", {}, { "c", "d" }, false, "/ep|c|d" },
                { "{'config': {'Entrypoint': ['/ep'], 'Cmd': ['a']}}", { "/new" }, {}, true, "/new" },
                { "{'config': {'Entrypoint': ['/ep'], 'Cmd': ['a']}}", { "/new" }, { "z" }, true, "/new|z" },
                { "{'config': {'Entrypoint': ['/ep'], 'Cmd': ['a']}}", { "" }, { "sh" }, true, "sh" },
                { "{'config': {'Entrypoint': ['/ep'], 'Cmd': ['a']}}", {}, { "sh" }, true, "sh" },
                { "{'config': {'Cmd': ['/bin/sh', '-c', 'x']}}", {}, {}, false, "/bin/sh|-c|x" },
                { "{'config': {'Entrypoint': null, 'Cmd': ['a']}}", {}, {}, false, "a" },
                { "{'config': {'Entrypoint': ['/only']}}", {}, {}, false, "/only" },
                { NULL, {}, { "/bin/true" }, false, "/bin/true" },
                { "{'architecture': 'amd64'}", {}, { "/bin/true" }, false, "/bin/true" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                InstRunSpec spec = { .id = TEST_ID };
                _cleanup_json_ json_t *c = NULL;

                spec.cmd = (char **)cases[i].cmd;
                spec.entrypoint = cases[i].has_entrypoint ? (char **)cases[i].entrypoint : NULL;
                c = config_ok(cases[i].image, &spec);
                assert_joined(c, "process.args", cases[i].expected);
        }
}

static void test_args_errors(void **state)
{
        InstRunSpec spec = { .id = TEST_ID };
        const char *empty[] = { NULL };
        const char *cmd[] = { "x", NULL };

        config_fails(NULL, &spec, -EINVAL, "no command: the image has no Entrypoint or Cmd and none was given");
        config_fails("{'config': {'Cmd': []}}", &spec, -EINVAL, "no command");
        /* --entrypoint "" with an image that only had a Cmd: nothing is left. */
        spec.entrypoint = (char **)empty;
        config_fails("{'config': {'Cmd': ['a']}}", &spec, -EINVAL, "no command");
        spec.entrypoint = NULL;
        /* A corrupt image config is EBADMSG and names the field. */
        spec.cmd = (char **)cmd;
        config_fails("{'config': {'Cmd': 'a string'}}", &spec, -EBADMSG, "Cmd");
        config_fails("{'config': {'Env': [1]}}", &spec, -EBADMSG, "Env");
        config_fails("{'config': {'User': 5}}", &spec, -EBADMSG, "User");
        config_fails("{'config': []}", &spec, -EBADMSG, "config");
        config_fails("[]", &spec, -EBADMSG, "config");
}

static void test_env(void **state)
{
        const char *image = "{'config': {'Cmd': ['sh'], 'Env': ['PATH=/img/bin', 'FOO=img', 'BAR=img', 'NOVALUE', "
                            "'EQ=a=b']}}";
        const char *env[] = { "FOO=cli", "HULL_TEST_FROM_HOST", "HULL_TEST_UNSET", "NEW=", NULL };
        InstRunSpec spec = { .id = TEST_ID, .env = (char **)env };
        _cleanup_json_ json_t *c = NULL, *tty = NULL, *plain = NULL;

        setenv("HULL_TEST_FROM_HOST", "from host", 1);
        unsetenv("HULL_TEST_UNSET");
        c = config_ok(image, &spec);
        assert_string_equal(env_get(c, "PATH"), "/img/bin");
        assert_string_equal(env_get(c, "FOO"), "cli");
        assert_string_equal(env_get(c, "BAR"), "img");
        assert_string_equal(env_get(c, "EQ"), "a=b");
        assert_string_equal(env_get(c, "NEW"), "");
        assert_string_equal(env_get(c, "HULL_TEST_FROM_HOST"), "from host");
        assert_null(env_get(c, "HULL_TEST_UNSET"));
        assert_null(env_get(c, "NOVALUE"));
        assert_null(env_get(c, "TERM"));
        assert_string_equal(env_get(c, "HOSTNAME"), "0123456789ab");
        assert_string_equal(env_get(c, "HOME"), "/root");
        /* Every variable once. */
        assert_int_equal(json_array_size(at(c, "process.env")), 8);

        /* Defaults when the image has none; TERM with a terminal; HOME from the image wins. */
        spec.env = NULL;
        spec.is_tty = true;
        spec.hostname = "web";
        tty = config_ok("{'config': {'Cmd': ['sh'], 'Env': ['HOME=/srv']}}", &spec);
        assert_string_equal(env_get(tty, "PATH"), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        assert_string_equal(env_get(tty, "TERM"), "xterm");
        assert_string_equal(env_get(tty, "HOSTNAME"), "web");
        assert_string_equal(env_get(tty, "HOME"), "/srv");
        assert_true(json_is_true(at(tty, "process.terminal")));
        assert_string_equal(json_string_value(at(tty, "hostname")), "web");

        /* -e HOSTNAME=x overrides ours, as in Docker. */
        env[0] = "HOSTNAME=mine";
        env[1] = NULL;
        spec.env = (char **)env;
        spec.is_tty = false;
        plain = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
        assert_string_equal(env_get(plain, "HOSTNAME"), "mine");

        env[0] = "=value";
        config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, "-e '=value': empty variable name");
        unsetenv("HULL_TEST_FROM_HOST");
}

static void check_user(const char *user, const char *image_user, uint32_t uid, uint32_t gid, const char *gids,
                       const char *home)
{
        _cleanup_free_ char *image =
                xasprintf("{'config': {'Cmd': ['id'], 'User': '%s'}}", image_user ? image_user : "");
        InstRunSpec spec = { .id = TEST_ID, .user = user };
        _cleanup_json_ json_t *c = config_ok(image, &spec);

        if (json_integer_value(at(c, "process.user.uid")) != uid ||
            json_integer_value(at(c, "process.user.gid")) != gid)
                fail_msg("--user '%s': expected %u:%u, got %lld:%lld", user, uid, gid,
                         (long long)json_integer_value(at(c, "process.user.uid")),
                         (long long)json_integer_value(at(c, "process.user.gid")));
        {
                json_t *a = at(c, "process.user.additionalGids"), *v;
                char buf[128] = "";
                size_t i;

                json_array_foreach (a, i, v)
                        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%lld", i ? "," : "",
                                 (long long)json_integer_value(v));
                if (strcmp(buf, gids) != 0)
                        fail_msg("--user '%s': expected groups '%s', got '%s'", user, gids, buf);
        }
        assert_string_equal(env_get(c, "HOME"), home);
}

static void test_user(void **state)
{
        check_user(NULL, NULL, 0, 0, "10", "/root");
        check_user("", NULL, 0, 0, "10", "/root");
        check_user("root", NULL, 0, 0, "10", "/root");
        check_user("app", NULL, 1000, 1000, "29,50", "/home/app");
        check_user("1000", NULL, 1000, 1000, "29,50", "/home/app");
        check_user("app:staff", NULL, 1000, 50, "", "/home/app");
        check_user("app:29", NULL, 1000, 29, "", "/home/app");
        check_user("app:4000", NULL, 1000, 4000, "", "/home/app");
        check_user("4242", NULL, 4242, 0, "", "/");
        check_user("0", NULL, 0, 0, "10", "/root");
        check_user("4242:4343", NULL, 4242, 4343, "", "/");
        check_user("4242:audio", NULL, 4242, 29, "", "/");
        check_user(":50", NULL, 0, 50, "", "/root");
        check_user("app:", NULL, 1000, 1000, "29,50", "/home/app");
        check_user("nohome", NULL, 1001, 1001, "", "/");
        check_user("2147483647", NULL, 2147483647, 0, "", "/");
        /* The image's User when no --user is given; --user wins over it. */
        check_user(NULL, "daemon", 1, 1, "", "/usr/sbin");
        check_user(NULL, "app:audio", 1000, 29, "", "/home/app");
        check_user("nobody", "daemon", 65534, 65534, "", "/nonexistent");

        /* Without an fd the root filesystem is opened from its path. */
        {
                InstRunSpec spec = { .id = TEST_ID, .user = "app" };
                _cleanup_json_ json_t *img = image_config("{'config': {'Cmd': ['id']}}"), *c = NULL;
                _cleanup_error_ Error *e = NULL;

                assert_int_equal(inst_bundle_config(img, &spec, rootfs, -EBADF, &c, &e), 0);
                assert_int_equal(json_integer_value(at(c, "process.user.uid")), 1000);
                json_decref(c);
                c = NULL;
                assert_int_equal(inst_bundle_config(img, &spec, "/nonexistent-hull-rootfs", -EBADF, &c, &e),
                                 -ENOENT);
                assert_non_null(strstr(e->msg, "open root filesystem '/nonexistent-hull-rootfs'"));
        }
}

static void test_user_errors(void **state)
{
        static const struct {
                const char *user;
                const char *message;
        } cases[] = {
                { "nobody2", "--user 'nobody2': no such user in the image" },
                { "app:nogroup2", "--user 'app:nogroup2': no such group in the image" },
                { "broken", "no such user" },   /* its line is malformed, so skipped */
                { "toobig", "no such user" },
                { "+nisuser", "no such user" },
                { "# a comment", "no such user" },
                { "4294967296", "uid out of range" },
                { "99999999999999999999", "uid out of range" },
                { "2147483648", "uid out of range" },
                { "1:2147483648", "gid out of range" },
                { "-1", "no such user" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                InstRunSpec spec = { .id = TEST_ID, .user = cases[i].user };
                config_fails("{'config': {'Cmd': ['id']}}", &spec, -EINVAL, cases[i].message);
        }
}

/* inst_user_resolve() on texts, without files: no passwd, no group, odd contents. */
static void test_user_texts(void **state)
{
        _cleanup_error_ Error *e = NULL;
        InstUser u;

        assert_int_equal(inst_user_resolve("1000:1000", NULL, NULL, &u, &e), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 1000);
        assert_null(u.home);
        inst_user_done(&u);
        assert_int_equal(inst_user_resolve("app", NULL, NULL, &u, &e), -EINVAL);
        assert_int_equal(u.uid, 0);
        e = error_free(e);
        assert_int_equal(inst_user_resolve("5:wheel", NULL, NULL, &u, &e), -EINVAL);
        e = error_free(e);
        /* Windows line ends, a last line without '\n', a line of colons. */
        assert_int_equal(inst_user_resolve("win", "win:x:7:8:w:/w\r\n::::::\n:::", "g:x:9:win\r\n", &u, &e), 0);
        assert_int_equal(u.uid, 7);
        assert_int_equal(u.gid, 8);
        assert_string_equal(u.home, "/w\r");
        assert_int_equal(u.n_additional_gids, 0); /* "win\r" is not "win" */
        inst_user_done(&u);
        assert_int_equal(inst_user_resolve("last", "last:x:3:4:::", "g:x:9:a,,last", &u, &e), 0);
        assert_int_equal(u.n_additional_gids, 1);
        assert_int_equal(u.additional_gids[0], 9);
        assert_null(u.home);
        inst_user_done(&u);
}

/* A symlink in the image pointing at /etc/passwd-like files on the host must resolve inside it. */
static void test_user_symlink_escape(void **state)
{
        _cleanup_free_ char *host = xasprintf("%s/host-passwd", tmp_dir), *root2 = xasprintf("%s/root2", tmp_dir);
        _cleanup_free_ char *etc = xasprintf("%s/etc", root2), *link = xasprintf("%s/passwd", etc);
        _cleanup_free_ char *group_link = xasprintf("%s/group", etc), *rel = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_error_ Error *e = NULL;
        InstUser u;

        write_file(host, "hostonly:x:777:777::/host:/bin/sh\n");
        assert_int_equal(mkdir(root2, 0755), 0);
        assert_int_equal(mkdir(etc, 0755), 0);
        fd = open(root2, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);

        assert_int_equal(symlink(host, link), 0); /* absolute: resolves to root2/tmp/... */
        assert_int_equal(inst_user_resolve_in_root("hostonly", fd, &u, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "no such user"));
        e = error_free(e);
        assert_int_equal(unlink(link), 0);

        rel = xasprintf("../../../../../../../../..%s", host); /* relative: ".." stops at root2 */
        assert_int_equal(symlink(rel, link), 0);
        assert_int_equal(inst_user_resolve_in_root("hostonly", fd, &u, &e), -EINVAL);
        e = error_free(e);
        /* Numbers still work without a usable file. */
        assert_int_equal(inst_user_resolve_in_root("777", fd, &u, &e), 0);
        assert_int_equal(u.uid, 777);
        assert_int_equal(u.gid, 0);
        inst_user_done(&u);
        assert_int_equal(unlink(link), 0);

        /* A fifo is refused without being opened (which would block), a directory too. */
        assert_int_equal(mkfifo(link, 0644), 0);
        assert_int_equal(inst_user_resolve_in_root("0", fd, &u, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "'/etc/passwd' in the image is not a regular file"));
        e = error_free(e);
        assert_int_equal(unlink(link), 0);
        assert_int_equal(mkdir(group_link, 0755), 0);
        assert_int_equal(inst_user_resolve_in_root("0", fd, &u, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(rmdir(group_link), 0);

        /* Over 4 MiB: refused. */
        {
                FILE *f = fopen(link, "we");
                assert_non_null(f);
                for (int i = 0; i < (5 << 20) / 32; i++)
                        fputs("user:x:1:1:padding-padding-pa\n", f);
                fclose(f);
        }
        assert_int_equal(inst_user_resolve_in_root("user", fd, &u, &e), -EFBIG);
        e = error_free(e);
        assert_int_equal(unlink(link), 0);

        /* No /etc at all: names fail, numbers work. */
        assert_int_equal(rmdir(etc), 0);
        assert_int_equal(inst_user_resolve_in_root("root", fd, &u, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(inst_user_resolve_in_root("0:0", fd, &u, &e), 0);
        inst_user_done(&u);
        rm_rf_at(AT_FDCWD, root2, NULL);
}

static uint64_t caps_mask(const json_t *c, const char *set)
{
        json_t *a = at(c, set), *v;
        uint64_t mask = 0;
        size_t i;

        json_array_foreach (a, i, v) {
                int cap = rt_cap_from_name(json_string_value(v));
                assert_true(cap >= 0);
                mask |= 1ULL << cap;
        }
        return mask;
}

/* "All" is what this process's bounding set holds (CapBnd of /proc/self/status): a sandbox's may lack
 * some of the kernel's. */
static uint64_t all_caps(void)
{
        _cleanup_free_ char *text = NULL;
        const char *line;

        assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/status", &text, NULL, NULL), 0);
        line = strstr(text, "\nCapBnd:");
        assert_non_null(line);
        return strtoull(line + strlen("\nCapBnd:"), NULL, 16);
}

static void test_caps(void **state)
{
        static const struct {
                const char *add[4];
                const char *drop[4];
                bool is_privileged;
                uint64_t expected; /* UINT64_MAX: all this process may hold */
                uint64_t all_but;
        } cases[] = {
                { {}, {}, false, DOCKER_CAP_MASK, 0 },
                { { "sys_admin", "CAP_NET_ADMIN" }, {}, false,
                  DOCKER_CAP_MASK | 1ULL << CAP_SYS_ADMIN | 1ULL << CAP_NET_ADMIN, 0 },
                { {}, { "chown", "Net_Raw" }, false,
                  DOCKER_CAP_MASK & ~(1ULL << CAP_CHOWN | 1ULL << CAP_NET_RAW), 0 },
                { { "ALL" }, { "kill" }, false, UINT64_MAX, 1ULL << CAP_KILL },
                { { "chown" }, { "all" }, false, 1ULL << CAP_CHOWN, 0 },
                { {}, { "ALL" }, false, 0, 0 },
                { { "kill" }, { "kill" }, false, DOCKER_CAP_MASK, 0 }, /* both: kept, as in Docker */
                { {}, { "chown" }, true, UINT64_MAX, 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                InstRunSpec spec = { .id = TEST_ID, .cap_add = (char **)cases[i].add,
                                     .cap_drop = (char **)cases[i].drop, .is_privileged = cases[i].is_privileged };
                _cleanup_json_ json_t *c = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
                uint64_t expected = cases[i].expected == UINT64_MAX ? all_caps() & ~cases[i].all_but
                                                                     : cases[i].expected;

                if (caps_mask(c, "process.capabilities.bounding") != expected)
                        fail_msg("case %zu: expected %#llx, got %#llx", i, (unsigned long long)expected,
                                 (unsigned long long)caps_mask(c, "process.capabilities.bounding"));
                assert_true(caps_mask(c, "process.capabilities.effective") == expected);
                assert_true(caps_mask(c, "process.capabilities.permitted") == expected);
                assert_null(at(c, "process.capabilities.inheritable"));
                assert_null(at(c, "process.capabilities.ambient"));
                assert_true(json_is_false(at(c, "process.noNewPrivileges")));
        }
}

static void test_caps_errors(void **state)
{
        const char *bad[] = { "CAP_FOO", NULL };
        const char *list[] = { "chown,kill", NULL };
        const char *number[] = { "12", NULL };
        const char *empty[] = { "", NULL };
        InstRunSpec spec = { .id = TEST_ID, .cap_add = (char **)bad };

        config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, "--cap-add 'CAP_FOO': unknown capability");
        spec.cap_add = NULL;
        spec.cap_drop = (char **)list;
        config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, "--cap-drop 'chown,kill': unknown capability");
        spec.cap_drop = (char **)number;
        config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, "unknown capability");
        spec.cap_drop = (char **)empty;
        config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, "unknown capability");
}

/* Whether linux.seccomp has a rule for name with action (any arguments). */
static bool has_rule(const json_t *c, const char *name, const char *action)
{
        json_t *rules = at(c, "linux.seccomp.syscalls"), *r, *n;
        size_t i, k;

        json_array_foreach (rules, i, r) {
                if (strcmp(json_string_value(json_object_get(r, "action")), action) != 0)
                        continue;
                json_array_foreach (json_object_get(r, "names"), k, n)
                        if (strcmp(json_string_value(n), name) == 0)
                                return true;
        }
        return false;
}

/* The rule for name with action; NULL if none. */
static json_t *rule_of(const json_t *c, const char *name, const char *action)
{
        json_t *rules = at(c, "linux.seccomp.syscalls"), *r, *n;
        size_t i, k;

        json_array_foreach (rules, i, r)
                json_array_foreach (json_object_get(r, "names"), k, n)
                        if (strcmp(json_string_value(n), name) == 0 &&
                            strcmp(json_string_value(json_object_get(r, "action")), action) == 0)
                                return r;
        return NULL;
}

/* The profile compiles with libseccomp, as the runtime will compile it. */
static void assert_seccomp_compiles(const json_t *c)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        _cleanup_error_ Error *e = NULL;
        int r = rt_seccomp_prepare(at(c, "linux.seccomp"), NULL, -1, &s, &e);

        if (r < 0)
                fail_msg("rt_seccomp_prepare: %s", error_message(e, r));
        assert_non_null(s);
}

static void test_seccomp(void **state)
{
        const char *sys_admin[] = { "SYS_ADMIN", NULL };
        const char *ptrace_time[] = { "SYS_PTRACE", "sys_time", NULL };
        const char *all[] = { "ALL", NULL };
        InstRunSpec spec = { .id = TEST_ID };
        _cleanup_json_ json_t *c = config_ok("{'config': {'Cmd': ['sh']}}", &spec), *admin = NULL, *traced = NULL;
        _cleanup_json_ json_t *everything = NULL;
        json_t *clone, *arg, *clone3;

        assert_string_equal(json_string_value(at(c, "linux.seccomp.defaultAction")), "SCMP_ACT_ERRNO");
        assert_int_equal(json_integer_value(at(c, "linux.seccomp.defaultErrnoRet")), EPERM);
#if defined(__x86_64__)
        assert_joined(c, "linux.seccomp.architectures", "SCMP_ARCH_X86_64|SCMP_ARCH_X86|SCMP_ARCH_X32");
#endif
        for (const char *const *n = (const char *const[]){ "read", "openat", "execve", "futex", "rseq", "statx",
                                                            "faccessat2", "getrandom", "chroot", "ptrace",
                                                            "process_vm_readv", NULL };
             *n; n++)
                if (!has_rule(c, *n, "SCMP_ACT_ALLOW"))
                        fail_msg("'%s' is not allowed", *n);
        for (const char *const *n = (const char *const[]){ "mount", "umount2", "unshare", "setns", "pidfd_getfd",
                                                            "kexec_load", "init_module", "reboot", "keyctl", "bpf",
                                                            "clock_settime", "userfaultfd", "io_uring_setup", NULL };
             *n; n++)
                if (has_rule(c, *n, "SCMP_ACT_ALLOW"))
                        fail_msg("'%s' is allowed by default", *n);
        /* clone only without namespace flags; clone3 says ENOSYS so libcs fall back to clone. */
        clone = rule_of(c, "clone", "SCMP_ACT_ALLOW");
        assert_non_null(clone);
        arg = json_array_get(json_object_get(clone, "args"), 0);
        assert_string_equal(json_string_value(json_object_get(arg, "op")), "SCMP_CMP_MASKED_EQ");
        assert_int_equal(json_integer_value(json_object_get(arg, "value")), 0x7E020000);
        assert_int_equal(json_integer_value(json_object_get(arg, "valueTwo")), 0);
        clone3 = rule_of(c, "clone3", "SCMP_ACT_ERRNO");
        assert_non_null(clone3);
        assert_int_equal(json_integer_value(json_object_get(clone3, "errnoRet")), ENOSYS);
        assert_non_null(rule_of(c, "personality", "SCMP_ACT_ALLOW"));
        assert_seccomp_compiles(c);

        spec.cap_add = (char **)sys_admin;
        admin = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
        for (const char *const *n = (const char *const[]){ "mount", "umount2", "unshare", "setns", "clone3", NULL };
             *n; n++)
                assert_true(has_rule(admin, *n, "SCMP_ACT_ALLOW"));
        assert_null(rule_of(admin, "clone3", "SCMP_ACT_ERRNO"));
        assert_null(json_object_get(rule_of(admin, "clone", "SCMP_ACT_ALLOW"), "args"));
        assert_false(has_rule(admin, "pidfd_getfd", "SCMP_ACT_ALLOW"));
        assert_seccomp_compiles(admin);

        spec.cap_add = (char **)ptrace_time;
        traced = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
        assert_true(has_rule(traced, "pidfd_getfd", "SCMP_ACT_ALLOW"));
        assert_true(has_rule(traced, "process_madvise", "SCMP_ACT_ALLOW"));
        assert_true(has_rule(traced, "clock_settime", "SCMP_ACT_ALLOW"));
        assert_false(has_rule(traced, "mount", "SCMP_ACT_ALLOW"));
        assert_seccomp_compiles(traced);

        spec.cap_add = (char **)all;
        everything = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
        assert_true(has_rule(everything, "init_module", "SCMP_ACT_ALLOW"));
        assert_true(has_rule(everything, "reboot", "SCMP_ACT_ALLOW"));
        assert_false(has_rule(everything, "keyctl", "SCMP_ACT_ALLOW"));
        assert_seccomp_compiles(everything);
}

static void test_privileged(void **state)
{
        InstRunSpec spec = { .id = TEST_ID, .is_privileged = true };
        _cleanup_json_ json_t *c = config_ok("{'config': {'Cmd': ['sh']}}", &spec), *plain = NULL;
        json_t *dev;

        assert_null(at(c, "linux.seccomp"));
        assert_null(at(c, "linux.maskedPaths"));
        assert_null(at(c, "linux.readonlyPaths"));
        assert_int_equal(json_array_size(at(c, "linux.resources.devices")), 1);
        dev = json_array_get(at(c, "linux.resources.devices"), 0);
        assert_true(json_is_true(json_object_get(dev, "allow")));
        assert_string_equal(json_string_value(json_object_get(dev, "access")), "rwm");

        spec.is_privileged = false;
        plain = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
        assert_joined(plain, "linux.maskedPaths",
                      "/proc/acpi|/proc/asound|/proc/interrupts|/proc/kcore|/proc/keys|/proc/latency_stats|"
                      "/proc/timer_list|/proc/timer_stats|/proc/sched_debug|/proc/scsi|/sys/firmware|"
                      "/sys/devices/virtual/powercap");
        assert_joined(plain, "linux.readonlyPaths", "/proc/bus|/proc/fs|/proc/irq|/proc/sys|/proc/sysrq-trigger");
        dev = json_array_get(at(plain, "linux.resources.devices"), 0);
        assert_true(json_is_false(json_object_get(dev, "allow")));
        assert_null(json_object_get(dev, "type"));
}

static void test_resources(void **state)
{
        InstRunSpec spec = { .id = TEST_ID, .memory = 256 << 20, .cpus = 1.5, .pids_limit = 100,
                             .cgroups_path = "/hull/test" };
        _cleanup_json_ json_t *c = config_ok("{'config': {'Cmd': ['sh']}}", &spec), *none = NULL;
        static const struct {
                int64_t memory;
                double cpus;
                const char *message;
        } bad[] = {
                { -1, 0, "--memory '-1'" },
                { 4096, 0, "--memory '4096'" },
                { 0, -1, "--cpus '-1'" },
                { 0, 0.001, "--cpus '0.001'" },
                { 0, NAN, "--cpus" },
                { 0, INFINITY, "--cpus" },
        };

        assert_int_equal(json_integer_value(at(c, "linux.resources.memory.limit")), 256 << 20);
        assert_int_equal(json_integer_value(at(c, "linux.resources.memory.swap")), 256 << 20);
        assert_int_equal(json_integer_value(at(c, "linux.resources.cpu.quota")), 150000);
        assert_int_equal(json_integer_value(at(c, "linux.resources.cpu.period")), 100000);
        assert_int_equal(json_integer_value(at(c, "linux.resources.pids.limit")), 100);
        assert_string_equal(json_string_value(at(c, "linux.cgroupsPath")), "/hull/test");

        spec = (InstRunSpec){ .id = TEST_ID, .pids_limit = -1 };
        none = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
        assert_null(at(none, "linux.resources.memory"));
        assert_null(at(none, "linux.resources.cpu"));
        assert_null(at(none, "linux.resources.pids"));
        assert_null(at(none, "linux.cgroupsPath"));
        /* Deny all, mknod of any node, then /dev's own devices. */
        assert_int_equal(json_array_size(at(none, "linux.resources.devices")), 11);

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                spec = (InstRunSpec){ .id = TEST_ID, .memory = bad[i].memory, .cpus = bad[i].cpus };
                config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, bad[i].message);
        }
}

static void test_mounts_and_root(void **state)
{
        InstBind binds[] = { { .source = tmp_dir, .destination = "/data" },
                             { .source = rootfs, .destination = "/ro", .is_readonly = true } };
        InstBind files[] = {
                { .source = "/etc/hostname-not-checked", .destination = "/etc/hostname", .is_readonly = true },
        };
        InstRunSpec spec = { .id = TEST_ID, .binds = binds, .n_binds = 2, .files = files, .n_files = 1,
                             .is_read_only = true };
        _cleanup_json_ json_t *c = config_ok("{'config': {'Cmd': ['sh']}}", &spec), *host = NULL;
        _cleanup_free_ char *dsts = NULL;
        json_t *mounts = at(c, "mounts"), *m;
        size_t i;

        assert_string_equal(json_string_value(at(c, "root.path")), rootfs);
        assert_true(json_is_true(at(c, "root.readonly")));
        assert_string_equal(json_string_value(at(c, "ociVersion")), "1.1.0");
        dsts = xstrdup("");
        json_array_foreach (mounts, i, m) {
                const char *d = json_string_value(json_object_get(m, "destination"));
                char *n = xasprintf("%s%s%s", dsts, i ? "|" : "", d);
                free(dsts);
                dsts = n;
        }
        assert_string_equal(dsts,
                            "/proc|/dev|/dev/pts|/dev/shm|/dev/mqueue|/sys|/sys/fs/cgroup|/data|/ro|/etc/hostname");
        assert_joined(json_array_get(mounts, 2), "options",
                      "nosuid|noexec|newinstance|ptmxmode=0666|mode=0620|gid=5");
        assert_joined(json_array_get(mounts, 3), "options", "nosuid|noexec|nodev|mode=1777|size=65536k");
        assert_joined(json_array_get(mounts, 5), "options", "nosuid|noexec|nodev|ro");
        assert_joined(json_array_get(mounts, 7), "options", "rbind");
        assert_string_equal(json_string_value(json_object_get(json_array_get(mounts, 7), "source")), tmp_dir);
        assert_joined(json_array_get(mounts, 8), "options", "rbind|ro");
        assert_joined(json_array_get(mounts, 9), "options", "rbind|ro");

        /* Namespaces; the network one and its sysctls only without --network host. */
        assert_int_equal(json_array_size(at(c, "linux.namespaces")), 6);
        assert_string_equal(json_string_value(json_object_get(at(c, "linux.sysctl"), "net.ipv4.ping_group_range")),
                            "0 2147483647");
        assert_string_equal(json_string_value(at(c, "hostname")), "0123456789ab");
        spec = (InstRunSpec){ .id = TEST_ID, .is_host_network = true };
        host = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
        assert_int_equal(json_array_size(at(host, "linux.namespaces")), 5);
        {
                json_t *ns;
                json_array_foreach (at(host, "linux.namespaces"), i, ns)
                        assert_string_not_equal(json_string_value(json_object_get(ns, "type")), "network");
        }
        assert_null(at(host, "linux.sysctl"));
        assert_true(json_is_false(at(host, "root.readonly")));
}

/* A user namespace of its own: "user" among the namespaces, and one mapping each for uids and gids;
 * the network sysctls left out when the network namespace is hull's (the user namespace does not own it). */
static void test_userns_mappings(void **state)
{
        InstRunSpec spec = { .id = TEST_ID, .uid_base = 3000000, .gid_base = 4000000, .id_count = 65536 };
        _cleanup_json_ json_t *c = config_ok("{'config': {'Cmd': ['sh']}}", &spec), *joined = NULL, *none = NULL;
        json_t *ns, *m;
        size_t i;
        int n_user = 0;
        (void)state;

        json_array_foreach (at(c, "linux.namespaces"), i, ns)
                n_user += strcmp(json_string_value(json_object_get(ns, "type")), "user") == 0;
        assert_int_equal(n_user, 1);
        assert_int_equal(json_array_size(at(c, "linux.uidMappings")), 1);
        m = json_array_get(at(c, "linux.uidMappings"), 0);
        assert_int_equal(json_integer_value(json_object_get(m, "containerID")), 0);
        assert_int_equal(json_integer_value(json_object_get(m, "hostID")), 3000000);
        assert_int_equal(json_integer_value(json_object_get(m, "size")), 65536);
        m = json_array_get(at(c, "linux.gidMappings"), 0);
        assert_int_equal(json_integer_value(json_object_get(m, "hostID")), 4000000);
        assert_int_equal(json_integer_value(json_object_get(m, "size")), 65536);
        /* Its own new network namespace: the sysctls stay. */
        assert_non_null(at(c, "linux.sysctl"));
        spec.netns_path = "/run/netns/x";
        joined = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
        assert_null(at(joined, "linux.sysctl"));
        /* Without a range: no user namespace, no mappings. */
        spec = (InstRunSpec){ .id = TEST_ID };
        none = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
        json_array_foreach (at(none, "linux.namespaces"), i, ns)
                assert_string_not_equal(json_string_value(json_object_get(ns, "type")), "user");
        assert_null(at(none, "linux.uidMappings"));
        assert_null(at(none, "linux.gidMappings"));
}

static void test_mounts_errors(void **state)
{
        static const struct {
                const char *src, *dst, *message;
        } cases[] = {
                { "relative", "/x", "--volume 'relative:/x': the source is not an absolute path" },
                { "/", "x", "--volume '/:x': the destination is not an absolute path" },
                { "/", "//", "--volume '/://': cannot mount over '/'" },
                { "/nonexistent-hull-test", "/x", "--volume '/nonexistent-hull-test:/x': source: No such file" },
                { NULL, "/x", "the source is not an absolute path" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                InstBind b = { .source = (char *)cases[i].src, .destination = (char *)cases[i].dst };
                InstRunSpec spec = { .id = TEST_ID, .binds = &b, .n_binds = 1 };
                config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, cases[i].message);
        }
        {
                InstBind f = { .source = "/etc/hosts", .destination = "etc/hosts" };
                InstRunSpec spec = { .id = TEST_ID, .files = &f, .n_files = 1 };
                config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, "file '/etc/hosts:etc/hosts'");
        }
}

static void test_cwd_and_hostname(void **state)
{
        InstRunSpec spec = { .id = TEST_ID };
        char long_name[80];
        static const struct {
                const char *image;
                const char *workdir;
                const char *expected;
        } cases[] = {
                { "{'config': {'Cmd': ['sh']}}", NULL, "/" },
                { "{'config': {'Cmd': ['sh'], 'WorkingDir': ''}}", NULL, "/" },
                { "{'config': {'Cmd': ['sh'], 'WorkingDir': 'app'}}", NULL, "/app" },
                { "{'config': {'Cmd': ['sh'], 'WorkingDir': '/srv/app'}}", NULL, "/srv/app" },
                { "{'config': {'Cmd': ['sh'], 'WorkingDir': '/srv/app'}}", "/tmp", "/tmp" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_json_ json_t *c = NULL;
                spec.workdir = cases[i].workdir;
                c = config_ok(cases[i].image, &spec);
                assert_string_equal(json_string_value(at(c, "process.cwd")), cases[i].expected);
        }
        spec.workdir = "relative";
        config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, "--workdir 'relative': not an absolute path");

        spec = (InstRunSpec){ .id = "short" };
        {
                _cleanup_json_ json_t *c = config_ok("{'config': {'Cmd': ['sh']}}", &spec);
                assert_string_equal(json_string_value(at(c, "hostname")), "short");
        }
        spec.id = NULL;
        config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, "no hostname");
        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        spec.hostname = long_name;
        config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, "not 1 to 64 characters");
        spec.hostname = "";
        config_fails("{'config': {'Cmd': ['sh']}}", &spec, -EINVAL, "not 1 to 64 characters");
}

/* ---- real containers: busybox rootfs, the runtime in-process, its own state root ---- */

typedef struct RunEnv {
        char dir[PATH_MAX + 16];
        char rootfs[PATH_MAX + 32];
        char bundle[PATH_MAX + 32];
        char out[PATH_MAX + 32];
        RtContext *ctx;
        int rootfs_fd;
        unsigned n_runs;
} RunEnv;

/* tests/lib/busybox-rootfs.sh, found from this file's path as the compiler saw it (relative to the
 * build root, two levels above this executable, or absolute). */
static char *busybox_script(void)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        const char *src = __FILE__;
        char *path, *slash;

        if (src[0] == '/') {
                path = xasprintf("%s", src);
        } else {
                if (n < 0)
                        return NULL;
                exe[n] = 0;
                for (int i = 0; i < 3 && (slash = strrchr(exe, '/')); i++)
                        *slash = 0; /* build/tests/unit/test-x -> build */
                path = xasprintf("%s/%s", exe, src);
        }
        slash = strrchr(path, '/');
        *slash = 0;
        {
                char *script = xasprintf("%s/../lib/busybox-rootfs.sh", path);
                free(path);
                if (access(script, R_OK) < 0)
                        return mfree(script);
                return script;
        }
}

static int run_setup(void **state)
{
        _cleanup_free_ char *script = NULL, *cmd = NULL, *mnt = NULL, *state_root = NULL;
        RunEnv *env;
        Error *e = NULL;

        if (geteuid() != 0) {
                print_message("skipped: containers need root\n");
                *state = NULL;
                return 0;
        }
        script = busybox_script();
        if (!script || (access("/bin/busybox", X_OK) < 0 && system("command -v busybox >/dev/null") != 0)) {
                print_message("skipped: no busybox or no tests/lib/busybox-rootfs.sh\n");
                *state = NULL;
                return 0;
        }
        env = xnew0(RunEnv, 1);
        env->rootfs_fd = -EBADF;
        snprintf(env->dir, sizeof(env->dir), "%s/run", tmp_dir);
        snprintf(env->rootfs, sizeof(env->rootfs), "%s/rootfs", env->dir);
        snprintf(env->bundle, sizeof(env->bundle), "%s/bundle", env->dir);
        snprintf(env->out, sizeof(env->out), "%s/out", env->dir);
        *state = env;
        if (mkdir(env->dir, 0755) < 0 || mkdir(env->bundle, 0755) < 0)
                return -1;
        cmd = xasprintf("sh '%s' '%s'", script, env->rootfs);
        if (system(cmd) != 0)
                return -1;
        mnt = xasprintf("%s/mnt", env->rootfs);
        if (mkdir(mnt, 0755) < 0)
                return -1;
        env->rootfs_fd = open(env->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        state_root = xasprintf("%s/state", env->dir);
        if (env->rootfs_fd < 0 || rt_context_open(state_root, false, &env->ctx, &e) < 0) {
                print_message("rt_context_open: %s\n", e ? e->msg : "?");
                error_free(e);
                return -1;
        }
        return 0;
}

static int run_teardown(void **state)
{
        RunEnv *env = *state;

        if (!env)
                return 0;
        rt_context_free(env->ctx);
        if (env->rootfs_fd >= 0)
                close(env->rootfs_fd);
        rm_rf_at(AT_FDCWD, env->dir, NULL);
        free(env);
        return 0;
}

#define SKIP_UNLESS_RUNNABLE(env)                                                                        \
        do {                                                                                             \
                if (!(env))                                                                              \
                        skip();                                                                          \
        } while (0)

/*
 * Makes the config for spec in the bundle, runs the container to its end with stdout and stderr in
 * a file, and returns that output (malloc'd) and the exit status.
 */
static char *run(RunEnv *env, InstRunSpec *spec, int *ret_status)
{
        _cleanup_error_ Error *e = NULL;
        _cleanup_json_ json_t *c = NULL;
        _cleanup_free_ char *text = NULL, *id = NULL, *out = NULL;
        _cleanup_close_ int out_fd = -EBADF, cfg_dir = -EBADF;
        RtCreateOptions o = { .bundle = env->bundle };
        int saved_out, saved_err, r;

        id = xasprintf("hull-test-bundle-%d-%u", getpid(), env->n_runs++);
        spec->id = id;
        r = inst_bundle_config(NULL, spec, env->rootfs, env->rootfs_fd, &c, &e);
        if (r < 0)
                fail_msg("inst_bundle_config: %s", error_message(e, r));
        spec->id = NULL;
        text = json_dumps(c, JSON_INDENT(2));
        cfg_dir = open(env->bundle, O_DIRECTORY | O_CLOEXEC);
        assert_true(cfg_dir >= 0);
        assert_int_equal(write_file_atomic_at(cfg_dir, "config.json", text, strlen(text), 0644, NULL), 0);

        out_fd = open(env->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(out_fd >= 0);
        fflush(stdout);
        fflush(stderr);
        saved_out = dup(1);
        saved_err = dup(2);
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        r = rt_container_run(env->ctx, id, &o, ret_status, &e);
        dup2(saved_out, 1);
        dup2(saved_err, 2);
        close(saved_out);
        close(saved_err);
        if (r < 0)
                fail_msg("rt_container_run: %s", error_message(e, r));
        assert_int_equal(read_file_at(AT_FDCWD, env->out, &out, NULL, NULL), 0);
        return TAKE_PTR(out);
}

static char *run_sh(RunEnv *env, InstRunSpec *spec, const char *script, int *ret_status)
{
        const char *cmd[] = { "/bin/sh", "-c", script, NULL };

        spec->cmd = (char **)cmd;
        return run(env, spec, ret_status);
}

static void assert_output(const char *out, int status, int expected_status, const char *expected)
{
        if (status != expected_status || !strstr(out, expected))
                fail_msg("expected status %d and '%s', got status %d and:\n%s", expected_status, expected, status,
                         out);
}

/* "MAJOR MINOR" of some block device of the host, from /sys/dev/block; false if it has none. */
static bool host_block_device(char buf[static 32])
{
        DIR *d = opendir("/sys/dev/block");
        struct dirent *de;
        unsigned major, minor;
        bool found = false;

        while (d && !found && (de = readdir(d)))
                if (sscanf(de->d_name, "%u:%u", &major, &minor) == 2) {
                        snprintf(buf, 32, "%u %u", major, minor);
                        found = true;
                }
        if (d)
                closedir(d);
        return found;
}

static void test_run_default(void **state)
{
        RunEnv *env = *state;
        InstRunSpec spec = { 0 };
        _cleanup_free_ char *out = NULL;
        char blk[32];
        int status;

        SKIP_UNLESS_RUNNABLE(env);
        out = run_sh(env, &spec, "echo hello from $HOSTNAME; id -u; pwd; echo HOME=$HOME", &status);
        assert_output(out, status, 0, "hello from hull-test-bu");
        assert_output(out, status, 0, "\n0\n/\nHOME=/root\n");
        out = mfree(out);

        out = run_sh(env, &spec, "grep CapEff /proc/self/status", &status);
        assert_output(out, status, 0, "CapEff:\t00000000a80425fb");
        out = mfree(out);

        /* Seccomp says no before the kernel would check anything else. */
        out = run_sh(env, &spec, "unshare -U true", &status);
        assert_output(out, status, 1, "Operation not permitted");
        out = mfree(out);
        /* busybox words EPERM from mount(2) so; ENOENT or EINVAL would read otherwise. */
        out = run_sh(env, &spec, "mount -t tmpfs x /mnt", &status);
        assert_output(out, status, 1, "mount: permission denied (are you root?)");
        out = mfree(out);

        /* Masked: empty (this kernel may lack /proc/kcore); read-only /proc/sys; /sys/firmware empty. */
        out = run_sh(env, &spec, "for f in /proc/kcore /proc/interrupts /proc/timer_list; do "
                                 "[ -e $f ] && echo $f $(wc -c < $f); done; ls /sys/firmware | wc -l; "
                                 "echo 1 > /proc/sys/kernel/domainname || echo ro-proc-sys", &status);
        assert_output(out, status, 0, access("/proc/kcore", F_OK) == 0 ? "/proc/kcore 0\n/proc/interrupts 0\n"
                                                                      : "/proc/interrupts 0\n");
        assert_output(out, status, 0, "/proc/timer_list 0\n0\n");
        assert_output(out, status, 0, "ro-proc-sys");
        out = mfree(out);

        /* fork, pipes, a background job, nproc, a threaded sort would need coreutils: busybox's shell
         * and applets exercise clone without namespace flags. */
        out = run_sh(env, &spec, "sleep 0 & wait; nproc >/dev/null && echo nproc-ok; "
                                 "echo a | sort | uniq | wc -l; cat /proc/self/status | grep -c Seccomp:.2",
                     &status);
        assert_output(out, status, 0, "nproc-ok\n1\n1\n");
        out = mfree(out);

        /* The sysctls the config sets in the container's network namespace. */
        out = run_sh(env, &spec, "cat /proc/sys/net/ipv4/ip_unprivileged_port_start", &status);
        assert_output(out, status, 0, "0\n");
        out = mfree(out);

        /* The device cgroup: mknod of any node is allowed, opening a disk is not. */
        if (host_block_device(blk)) {
                _cleanup_free_ char *script =
                        xasprintf("mknod /dev/blk b %s && echo mknod-ok; head -c1 /dev/blk", blk);
                out = run_sh(env, &spec, script, &status);
                assert_output(out, status, 1, "mknod-ok\n");
                assert_output(out, status, 1, "/dev/blk: Operation not permitted");
        }
}

static void test_run_caps_and_user(void **state)
{
        RunEnv *env = *state;
        const char *sys_admin[] = { "sys_admin", NULL };
        const char *drop_chown[] = { "CHOWN", NULL };
        InstRunSpec spec = { .cap_add = (char **)sys_admin };
        _cleanup_free_ char *out = NULL;
        int status;

        SKIP_UNLESS_RUNNABLE(env);
        out = run_sh(env, &spec,
                     "mount -t tmpfs x /mnt && echo mounted && umount /mnt && unshare -m true && echo ns-ok",
                     &status);
        assert_output(out, status, 0, "mounted\nns-ok\n");
        out = mfree(out);

        spec = (InstRunSpec){ .cap_drop = (char **)drop_chown, .user = "nobody" };
        out = run_sh(env, &spec, "id -u; id -g; grep CapEff /proc/self/status", &status);
        /* A non-root user's program starts without capabilities. */
        assert_output(out, status, 0, "65534\n65534\nCapEff:\t0000000000000000\n");
        out = mfree(out);

        spec = (InstRunSpec){ .cap_drop = (char **)drop_chown };
        out = run_sh(env, &spec, "grep CapEff /proc/self/status; touch /tmp/f && chown 5 /tmp/f || echo no-chown",
                     &status);
        assert_output(out, status, 0, "CapEff:\t00000000a80425fa\n");
        assert_output(out, status, 0, "no-chown");
        out = mfree(out);
}

static void test_run_read_only_and_limits(void **state)
{
        RunEnv *env = *state;
        InstRunSpec spec = { .is_read_only = true, .memory = 64 << 20, .pids_limit = 50, .cpus = 0.5 };
        _cleanup_free_ char *out = NULL;
        int status;

        SKIP_UNLESS_RUNNABLE(env);
        out = run_sh(env, &spec,
                     "touch /file 2>&1 || echo root-ro; touch /dev/x && echo dev-rw; "
                     "touch /dev/shm/x && echo shm-rw; "
                     "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                     "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max",
                     &status);
        assert_output(out, status, 0, "Read-only file system");
        assert_output(out, status, 0, "root-ro\ndev-rw\nshm-rw\n67108864\n50\n");
        out = mfree(out);
}

/* Host programs through read-only binds of /usr: bash, coreutils' threaded sort, python threads. */
static void test_run_host_programs(void **state)
{
        RunEnv *env = *state;
        InstBind usr = { .source = "/usr", .destination = "/usr", .is_readonly = true };
        InstRunSpec spec = { .binds = &usr, .n_binds = 1 };
        _cleanup_free_ char *out = NULL, *lib = NULL, *lib64 = NULL;
        struct stat st;
        int status;

        SKIP_UNLESS_RUNNABLE(env);
        /* A merged-/usr host (Debian 12): /lib and /lib64 are links into /usr. */
        if (lstat("/lib", &st) < 0 || !S_ISLNK(st.st_mode) || access("/usr/bin/bash", X_OK) < 0)
                skip();
        lib = xasprintf("%s/lib", env->rootfs);
        lib64 = xasprintf("%s/lib64", env->rootfs);
        if (symlink("usr/lib", lib) < 0 || symlink("usr/lib64", lib64) < 0)
                fail_msg("symlink: %m");

        out = run_sh(env, &spec,
                     "/usr/bin/bash -c 'echo bash ${BASH_VERSINFO[0]}'; "
                     "seq 1 200000 | /usr/bin/sort --parallel=2 -S 1M -n -r | /usr/bin/head -n1; "
                     "/usr/bin/ls /usr/bin/bash; /usr/bin/nproc >/dev/null && echo coreutils-nproc",
                     &status);
        assert_output(out, status, 0, "bash 5");
        assert_output(out, status, 0, "200000\n/usr/bin/bash\ncoreutils-nproc\n");
        out = mfree(out);

        /* util-linux says what the kernel (here: the filter) said. */
        if (access("/usr/bin/unshare", X_OK) == 0) {
                out = run_sh(env, &spec, "/usr/bin/unshare -U true", &status);
                assert_output(out, status, 1, "Operation not permitted");
                out = mfree(out);
        }

        if (access("/usr/bin/python3", X_OK) == 0) {
                out = run_sh(env, &spec,
                             "/usr/bin/python3 -c 'import threading, os\n"
                             "r = []\n"
                             "ts = [threading.Thread(target=lambda: r.append(os.getpid())) for _ in range(4)]\n"
                             "[t.start() for t in ts]; [t.join() for t in ts]\n"
                             "print(\"threads\", len(r))\n"
                             "import socket\n"
                             "socket.socket(socket.AF_INET, socket.SOCK_STREAM).close(); print(\"inet\")\n"
                             "try: socket.socket(40, socket.SOCK_STREAM)\n"
                             "except PermissionError: print(\"vsock denied\")'",
                             &status);
                assert_output(out, status, 0, "threads 4\ninet\nvsock denied\n");
                out = mfree(out);
        }
        if (access("/usr/bin/apt-get", X_OK) == 0) {
                out = run_sh(env, &spec, "/usr/bin/apt-get --version | head -n1", &status);
                assert_output(out, status, 0, "apt ");
        }
        unlink(lib);
        unlink(lib64);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_args),
                cmocka_unit_test(test_userns_mappings),
                cmocka_unit_test(test_args_errors),
                cmocka_unit_test(test_env),
                cmocka_unit_test(test_user),
                cmocka_unit_test(test_user_errors),
                cmocka_unit_test(test_user_texts),
                cmocka_unit_test(test_user_symlink_escape),
                cmocka_unit_test(test_caps),
                cmocka_unit_test(test_caps_errors),
                cmocka_unit_test(test_seccomp),
                cmocka_unit_test(test_privileged),
                cmocka_unit_test(test_resources),
                cmocka_unit_test(test_mounts_and_root),
                cmocka_unit_test(test_mounts_errors),
                cmocka_unit_test(test_cwd_and_hostname),
        };
        const struct CMUnitTest runs[] = {
                cmocka_unit_test(test_run_default),
                cmocka_unit_test(test_run_caps_and_user),
                cmocka_unit_test(test_run_read_only_and_limits),
                cmocka_unit_test(test_run_host_programs),
        };
        int r;

        r = cmocka_run_group_tests_name("bundle config", tests, group_setup, group_teardown);
        if (r != 0)
                return r;
        if (group_setup(NULL) < 0)
                return 1;
        r = cmocka_run_group_tests_name("containers", runs, run_setup, run_teardown);
        group_teardown(NULL);
        return r;
}
