/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-common-strv.c: string vectors and the environment helpers built on them */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/strv.h"

static void test_push_copy_free(void **state)
{
        _cleanup_strv_ char **v = NULL, **c = NULL;

        assert_int_equal(strv_length(v), 0);
        strv_push(&v, "a");
        strv_push(&v, "b");
        assert_int_equal(strv_length(v), 2);
        assert_null(v[2]);
        c = strv_copy(v);
        assert_int_equal(strv_length(c), 2);
        assert_ptr_not_equal(c[0], v[0]);
        assert_string_equal(c[1], "b");
        assert_true(strv_contains(c, "a"));
        assert_false(strv_contains(c, "ab"));
        assert_false(strv_contains(NULL, "a"));
}

static void test_env_get_set(void **state)
{
        _cleanup_strv_ char **env = NULL;

        strv_push(&env, "PATH=/bin");
        strv_push(&env, "PATHX=/x");
        strv_push(&env, "EMPTY=");
        assert_string_equal(strv_env_get(env, "PATH"), "/bin");
        assert_string_equal(strv_env_get(env, "PATHX"), "/x");
        assert_string_equal(strv_env_get(env, "EMPTY"), "");
        assert_null(strv_env_get(env, "PAT"));
        assert_null(strv_env_get(NULL, "PATH"));
        /* Replaces in place, keeps the others, appends what is new. */
        strv_env_set(&env, "PATH=/usr/bin");
        strv_env_set(&env, "NEW=1");
        assert_int_equal(strv_length(env), 4);
        assert_string_equal(env[0], "PATH=/usr/bin");
        assert_string_equal(env[1], "PATHX=/x");
        assert_string_equal(strv_env_get(env, "NEW"), "1");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_push_copy_free),
                cmocka_unit_test(test_env_get_set),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
