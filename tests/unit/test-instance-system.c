/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-instance-system.c: a system container's init, halt signal and bundle, against real root filesystems */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "instance/internal.h"

static char tmp_dir[PATH_MAX];

/* A fresh root filesystem below the group's directory, opened as O_PATH. */
static int make_root(const char *name, char **ret_path)
{
        char *path = xasprintf("%s/%s", tmp_dir, name);
        int fd;

        assert_int_equal(mkdir(path, 0755), 0);
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        *ret_path = path;
        return fd;
}

/* path below root, made with its parents; mode 0 makes a directory. */
static void put(const char *root, const char *path, mode_t mode)
{
        _cleanup_free_ char *full = xasprintf("%s%s", root, path), *dir = xstrdup(full);

        *strrchr(dir, '/') = 0;
        assert_int_equal(mkdir_p(dir, 0755, NULL), 0);
        if (mode == 0) {
                assert_int_equal(mkdir(full, 0755), 0);
                return;
        }
        int fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        close(fd);
}

static void link_to(const char *root, const char *path, const char *target)
{
        _cleanup_free_ char *full = xasprintf("%s%s", root, path), *dir = xstrdup(full);

        *strrchr(dir, '/') = 0;
        assert_int_equal(mkdir_p(dir, 0755, NULL), 0);
        assert_int_equal(symlink(target, full), 0);
}

static json_t *config_with_entrypoint(const char *ep)
{
        return ep ? json_pack("{s:{s:[s]}}", "config", "Entrypoint", ep) : json_pack("{s:{}}", "config");
}

static int group_setup(void **state)
{
        snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test-instance-system.XXXXXX");
        return mkdtemp(tmp_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
        return rm_rf_at(AT_FDCWD, tmp_dir, NULL) < 0 ? -1 : 0;
}

/* /sbin/init -> /bin/busybox: the init is /sbin/init, and busybox's halt is SIGUSR2. */
static void test_busybox_init(void **state)
{
        _cleanup_free_ char *root = NULL;
        _cleanup_close_ int fd = make_root("busybox", &root);
        _cleanup_json_ json_t *cfg = config_with_entrypoint(NULL);
        _cleanup_strv_ char **ep = NULL;

        put(root, "/bin/busybox", 0755);
        link_to(root, "/sbin/init", "/bin/busybox");
        assert_int_equal(inst_system_init(cfg, fd, "bb:1", &ep, NULL), 0);
        assert_non_null(ep);
        assert_string_equal(ep[0], "/sbin/init");
        assert_null(ep[1]);
        assert_int_equal(inst_system_halt_signal(fd, "/sbin/init"), SIGUSR2);
}

/* An Entrypoint that is systemd is the init itself; its halt is SIGRTMIN+3. A relative link that
 * climbs out of the root stays inside it. */
static void test_systemd_entrypoint(void **state)
{
        _cleanup_free_ char *root = NULL;
        _cleanup_close_ int fd = make_root("systemd", &root);
        _cleanup_json_ json_t *cfg = config_with_entrypoint("/lib/systemd/systemd");
        _cleanup_strv_ char **ep = NULL;

        put(root, "/lib/systemd/systemd", 0755);
        link_to(root, "/sbin/init", "../../../../../lib/systemd/systemd");
        assert_int_equal(inst_system_init(cfg, fd, "deb:12", &ep, NULL), 0);
        assert_null(ep);
        assert_int_equal(inst_system_halt_signal(fd, "/lib/systemd/systemd"), SIGRTMIN + 3);
        assert_int_equal(inst_system_halt_signal(fd, "/sbin/init"), SIGRTMIN + 3);
}

/* An Entrypoint that is no init (a shell) is not taken: /sbin/init is, and any other init halts on
 * SIGTERM. */
static void test_other_entrypoint(void **state)
{
        _cleanup_free_ char *root = NULL;
        _cleanup_close_ int fd = make_root("other", &root);
        _cleanup_json_ json_t *cfg = config_with_entrypoint("/bin/sh");
        _cleanup_strv_ char **ep = NULL;

        put(root, "/bin/sh", 0755);
        put(root, "/sbin/init", 0755);
        assert_int_equal(inst_system_init(cfg, fd, "x:1", &ep, NULL), 0);
        assert_string_equal(ep[0], "/sbin/init");
        assert_int_equal(inst_system_halt_signal(fd, "/sbin/init"), SIGTERM);
        assert_int_equal(inst_system_halt_signal(fd, "/nonexistent"), SIGTERM);
}

/* No init: missing, a directory, not executable, or a link to a host file the image lacks. */
static void test_no_init(void **state)
{
        static const char *const kinds[] = { "missing", "dir", "noexec", "hostlink" };

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                _cleanup_free_ char *root = NULL;
                _cleanup_close_ int fd = make_root(kinds[i], &root);
                _cleanup_json_ json_t *cfg = config_with_entrypoint(NULL);
                _cleanup_strv_ char **ep = NULL;
                _cleanup_error_ Error *e = NULL;

                if (strcmp(kinds[i], "dir") == 0)
                        put(root, "/sbin/init", 0);
                else if (strcmp(kinds[i], "noexec") == 0)
                        put(root, "/sbin/init", 0644);
                else if (strcmp(kinds[i], "hostlink") == 0)
                        link_to(root, "/sbin/init", "/bin/true"); /* exists on the host, not here */
                assert_int_equal(inst_system_init(cfg, fd, "noinit:1", &ep, &e), -ENOENT);
                assert_null(ep);
                assert_string_equal(error_message(e, -ENOENT), "image 'noinit:1' has no init (/sbin/init)");
        }
}

static json_t *mount_at(const json_t *cfg, const char *dst)
{
        json_t *m;
        size_t i;

        json_array_foreach (json_object_get(cfg, "mounts"), i, m)
                if (strcmp(json_string_value(json_object_get(m, "destination")), dst) == 0)
                        return m;
        return NULL;
}

static bool has_env(const json_t *cfg, const char *var)
{
        json_t *v;
        size_t i;

        json_array_foreach (json_object_get(json_object_get(cfg, "process"), "env"), i, v)
                if (strcmp(json_string_value(v), var) == 0)
                        return true;
        return false;
}

/* The bundle of a system container: container=hull, its cgroup2 read-write, tmpfs on /run; an
 * application container keeps the read-only cgroup and no such variable. */
static void test_bundle(void **state)
{
        _cleanup_free_ char *root = NULL;
        _cleanup_close_ int fd = make_root("bundle", &root);
        _cleanup_json_ json_t *img = config_with_entrypoint(NULL), *sys = NULL, *app = NULL, *v1 = NULL;
        char *ep[] = { "/sbin/init", NULL };
        InstRunSpec spec = { .id = "0123456789abcdef", .hostname = "s1", .entrypoint = ep, .is_system = true };
        json_t *m;

        assert_int_equal(inst_bundle_config(img, &spec, root, fd, &sys, NULL), 0);
        assert_true(has_env(sys, "container=hull"));
        m = mount_at(sys, "/sys/fs/cgroup");
        assert_non_null(m);
        assert_string_equal(json_string_value(json_object_get(m, "type")), "cgroup2");
        assert_string_equal(json_string_value(json_array_get(json_object_get(m, "options"), 4)), "rw");
        assert_string_equal(json_string_value(json_object_get(mount_at(sys, "/run"), "type")), "tmpfs");
        assert_non_null(mount_at(sys, "/run/lock"));
        assert_string_equal(json_string_value(json_object_get(sys, "hostname")), "s1");

        spec.is_cgroup_v1 = true;
        assert_int_equal(inst_bundle_config(img, &spec, root, fd, &v1, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(mount_at(v1, "/sys/fs/cgroup"), "type")), "cgroup");

        spec.is_system = spec.is_cgroup_v1 = false;
        assert_int_equal(inst_bundle_config(img, &spec, root, fd, &app, NULL), 0);
        assert_false(has_env(app, "container=hull"));
        m = mount_at(app, "/sys/fs/cgroup");
        assert_string_equal(json_string_value(json_object_get(m, "type")), "cgroup");
        assert_null(mount_at(app, "/run"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_busybox_init),  cmocka_unit_test(test_systemd_entrypoint),
                cmocka_unit_test(test_other_entrypoint), cmocka_unit_test(test_no_init),
                cmocka_unit_test(test_bundle),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
