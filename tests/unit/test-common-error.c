/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-common-error.c: the error convention: -errno returns, chains built by set and wrap */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"

static void test_set_returns_negative_errno(void **state)
{
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(error_set(&e, ENOENT, "open '%s'", "x"), -ENOENT);
        assert_non_null(e);
        assert_int_equal(e->code, ENOENT);
        /* The message is the formatted text followed by strerror(). */
        assert_string_equal(e->msg, "open 'x': No such file or directory");
}

static void test_set_accepts_negative_code(void **state)
{
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(error_set(&e, -EACCES, "fetch"), -EACCES);
        assert_int_equal(e->code, EACCES);
        assert_string_equal(e->msg, "fetch: Permission denied");
}

static void test_set_zero_code_is_eio(void **state)
{
        _cleanup_error_ Error *e = NULL;

        /* A caller passing errno == 0 by mistake must still get a failure, never success. */
        assert_int_equal(error_set(&e, 0, "odd"), -EIO);
        assert_int_equal(e->code, EIO);
        assert_int_equal(error_setf(NULL, 0, "odd"), -EIO);
}

static void test_setf_has_no_strerror(void **state)
{
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(error_setf(&e, EINVAL, "process.user.uid: expected %s", "an integer"), -EINVAL);
        assert_int_equal(e->code, EINVAL);
        assert_string_equal(e->msg, "process.user.uid: expected an integer");
}

static void test_set_with_null_err(void **state)
{
        assert_int_equal(error_set(NULL, EBADMSG, "corrupt"), -EBADMSG);
        assert_int_equal(error_setf(NULL, -EPROTO, "qmp"), -EPROTO);
        assert_int_equal(error_wrap(NULL, -EPERM, "ctx"), -EPERM);
        assert_int_equal(error_wrap(NULL, 3, "ctx"), 3);
}

static void test_set_does_not_overwrite(void **state)
{
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(error_setf(&e, ENOENT, "first"), -ENOENT);
        /* The second set still returns its own code, but the chain keeps the first failure. */
        assert_int_equal(error_setf(&e, EACCES, "second"), -EACCES);
        assert_int_equal(error_set(&e, EPERM, "third"), -EPERM);
        assert_int_equal(e->code, ENOENT);
        assert_string_equal(e->msg, "first");
}

static void test_wrap_prepends_context(void **state)
{
        _cleanup_error_ Error *e = NULL;
        int r;

        r = error_setf(&e, ECONNREFUSED, "connection refused");
        r = error_wrap(&e, r, "fetch manifest");
        assert_int_equal(r, -ECONNREFUSED);
        r = error_wrap(&e, r, "pull '%s'", "debian:12");
        assert_int_equal(r, -ECONNREFUSED);
        assert_int_equal(e->code, ECONNREFUSED);
        assert_string_equal(e->msg, "pull 'debian:12': fetch manifest: connection refused");
}

static void test_wrap_keeps_r_not_code(void **state)
{
        _cleanup_error_ Error *e = NULL;

        /* wrap returns r unchanged even when it differs from the chain's code. */
        error_setf(&e, ENOENT, "inner");
        assert_int_equal(error_wrap(&e, -EIO, "outer"), -EIO);
        assert_string_equal(e->msg, "outer: inner");
        assert_int_equal(e->code, ENOENT);
}

static void test_wrap_success_does_nothing(void **state)
{
        _cleanup_error_ Error *e = NULL;
        _cleanup_error_ Error *none = NULL;

        assert_int_equal(error_wrap(&none, 0, "ctx"), 0);
        assert_null(none);
        assert_int_equal(error_wrap(&none, 5, "ctx"), 5);
        assert_null(none);

        /* An existing chain is left alone by a wrap of a success. */
        error_setf(&e, EINVAL, "bad");
        assert_int_equal(error_wrap(&e, 0, "ctx"), 0);
        assert_int_equal(error_wrap(&e, 1, "ctx"), 1);
        assert_string_equal(e->msg, "bad");
        assert_int_equal(e->code, EINVAL);
}

static void test_wrap_without_chain_starts_one(void **state)
{
        _cleanup_error_ Error *e = NULL;

        /* A callee that failed without setting an error (err passed through as NULL inside). */
        assert_int_equal(error_wrap(&e, -ENOSPC, "write '%s'", "f"), -ENOSPC);
        assert_non_null(e);
        assert_int_equal(e->code, ENOSPC);
        assert_string_equal(e->msg, "write 'f': No space left on device");
}

static void test_message(void **state)
{
        _cleanup_error_ Error *e = NULL;

        assert_string_equal(error_message(NULL, -ENOENT), strerror(ENOENT));
        assert_string_equal(error_message(NULL, EACCES), strerror(EACCES));
        error_setf(&e, EINVAL, "linux.namespaces[0].type: unknown");
        assert_string_equal(error_message(e, -EINVAL), "linux.namespaces[0].type: unknown");
        /* The message wins over r. */
        assert_string_equal(error_message(e, -ENOENT), "linux.namespaces[0].type: unknown");
}

static void test_free_null(void **state)
{
        assert_null(error_free(NULL));
        Error *e = NULL;
        error_setf(&e, EIO, "x");
        assert_null(error_free(e));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_set_returns_negative_errno),
                cmocka_unit_test(test_set_accepts_negative_code),
                cmocka_unit_test(test_set_zero_code_is_eio),
                cmocka_unit_test(test_setf_has_no_strerror),
                cmocka_unit_test(test_set_with_null_err),
                cmocka_unit_test(test_set_does_not_overwrite),
                cmocka_unit_test(test_wrap_prepends_context),
                cmocka_unit_test(test_wrap_keeps_r_not_code),
                cmocka_unit_test(test_wrap_success_does_nothing),
                cmocka_unit_test(test_wrap_without_chain_starts_one),
                cmocka_unit_test(test_message),
                cmocka_unit_test(test_free_null),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
