/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-instance-idmap.c: subuid lines, the pool from real files (and the default without them), and
 * which instances get a range */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "instance/idmap.h"
#include "instance/instance.h"

static char dir[64];

static void test_parse(void **state)
{
        _cleanup_error_ Error *e = NULL;
        uint64_t start = 0, count = 0;
        (void)state;

        assert_int_equal(inst_idmap_parse_subid("# comment\n\nalice:100000:65536\nroot:1000000:1000000000\n"
                                                "root:5:5\n",
                                                "root", &start, &count, &e),
                         1);
        assert_int_equal(start, 1000000);
        assert_int_equal(count, 1000000000);
        /* A name that only starts like root's is not root's. */
        assert_int_equal(inst_idmap_parse_subid("rootless:1:2\n  root:7:65536  \n", "root", &start, &count, &e), 1);
        assert_int_equal(start, 7);
        assert_int_equal(count, 65536);
        assert_int_equal(inst_idmap_parse_subid("alice:1:2\n", "root", &start, &count, &e), 0);
        assert_int_equal(inst_idmap_parse_subid("", "root", &start, &count, &e), 0);
        assert_int_equal(inst_idmap_parse_subid("root:x:5\n", "root", &start, &count, &e), -EINVAL);
        assert_string_equal(e->msg, "line for 'root': not NAME:START:COUNT");
        e = error_free(e);
        assert_int_equal(inst_idmap_parse_subid("root:5\n", "root", &start, &count, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(inst_idmap_parse_subid("root:-5:10\n", "root", &start, &count, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(inst_idmap_parse_subid("root:4294967295:2\n", "root", &start, &count, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "reaches past 2^32 ids"));
        e = error_free(e);
        assert_int_equal(inst_idmap_parse_subid("root:4294967296:0\n", "root", &start, &count, &e), -EINVAL);
        e = error_free(e);
}

static void write_text(const char *path, const char *text)
{
        assert_int_equal(write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, NULL), 0);
}

static void test_pool(void **state)
{
        _cleanup_free_ char *uid = xasprintf("%s/subuid", dir), *gid = xasprintf("%s/subgid", dir),
                            *none = xasprintf("%s/missing", dir);
        _cleanup_error_ Error *e = NULL;
        InstIdmapPool pool = {};
        (void)state;

        write_text(uid, "root:2000000:131072\n");
        write_text(gid, "other:1:2\nroot:3000000:65536\n");
        setenv("HULL_SUBUID", uid, 1);
        setenv("HULL_SUBGID", gid, 1);
        assert_int_equal(inst_idmap_pool(&pool, &e), 0);
        assert_int_equal(pool.uid_start, 2000000);
        assert_int_equal(pool.uid_count, 131072);
        assert_int_equal(pool.gid_start, 3000000);
        assert_int_equal(pool.gid_count, 65536);

        /* No file, or no line for root: the default. */
        setenv("HULL_SUBUID", none, 1);
        write_text(gid, "other:1:2\n");
        assert_int_equal(inst_idmap_pool(&pool, &e), 0);
        assert_int_equal(pool.uid_start, INST_IDMAP_POOL_START);
        assert_int_equal(pool.uid_count, INST_IDMAP_POOL_COUNT);
        assert_int_equal(pool.gid_start, INST_IDMAP_POOL_START);
        assert_int_equal(pool.gid_count, INST_IDMAP_POOL_COUNT);

        /* Smaller than one range: refused, saying so. */
        write_text(gid, "root:3000000:65535\n");
        assert_int_equal(inst_idmap_pool(&pool, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "gid pool '"));
        assert_non_null(strstr(e->msg, "root has 65535 ids, fewer than the 65536 an instance needs"));
        e = error_free(e);
        write_text(gid, "root:x\n");
        assert_int_equal(inst_idmap_pool(&pool, &e), -EINVAL);
        e = error_free(e);
        unsetenv("HULL_SUBUID");
        unsetenv("HULL_SUBGID");
}

static void test_wanted(void **state)
{
        InstRunOptions o = {};
        (void)state;

        /* An application container: only when asked. */
        assert_false(inst_userns_wanted(&o));
        o.userns = (char *)"auto";
        assert_true(inst_userns_wanted(&o));
        o.userns = (char *)"host";
        assert_false(inst_userns_wanted(&o));
        /* A system container: by default, unless privileged or --userns host. */
        o = (InstRunOptions){ .is_system = true };
        assert_true(inst_userns_wanted(&o));
        o.is_privileged = true;
        assert_false(inst_userns_wanted(&o));
        o = (InstRunOptions){ .is_system = true, .userns = (char *)"host" };
        assert_false(inst_userns_wanted(&o));
        /* A VM: never. */
        o = (InstRunOptions){ .is_system = true, .is_vm = true, .userns = (char *)"auto" };
        assert_false(inst_userns_wanted(&o));
}

static int setup(void **state)
{
        (void)state;
        snprintf(dir, sizeof(dir), "/tmp/hull-idmap-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        return rm_rf_at(AT_FDCWD, dir, NULL) < 0 ? -1 : 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test_setup_teardown(test_pool, setup, teardown),
                cmocka_unit_test(test_wanted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
