/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-common-json.c: typed getters that return 0/1/-EINVAL and name "where.key" in errors */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/strv.h"

/* One document with a value of every kind, shared by the tests through the group state. */
static const char doc_text[] = "{"
                               "\"obj\": {\"a\": 1},"
                               "\"arr\": [1, 2],"
                               "\"str\": \"hello\","
                               "\"t\": true,"
                               "\"f\": false,"
                               "\"i\": -42,"
                               "\"big\": 9223372036854775807,"
                               "\"u\": 42,"
                               "\"zero\": 0,"
                               "\"real\": 1.5,"
                               "\"nul\": null,"
                               "\"sv\": [\"a\", \"\", \"c\"],"
                               "\"sv_empty\": [],"
                               "\"sv_bad\": [\"a\", \"b\", 3]"
                               "}";

static int group_setup(void **state)
{
        json_t *j = NULL;
        if (json_parse(doc_text, strlen(doc_text), "test", &j, NULL) < 0)
                return -1;
        *state = j;
        return 0;
}

static int group_teardown(void **state)
{
        json_decref(*state);
        return 0;
}

/* Asserts r == -EINVAL and that the error message contains every given substring. */
#define ASSERT_EINVAL(call, ...)                                                                        \
        do {                                                                                             \
                _cleanup_error_ Error *_e = NULL;                                                        \
                Error **err = &_e;                                                                       \
                int _r = (call);                                                                         \
                const char *_want[] = { __VA_ARGS__ };                                                   \
                assert_int_equal(_r, -EINVAL);                                                           \
                assert_non_null(_e);                                                                     \
                assert_int_equal(_e->code, EINVAL);                                                      \
                for (size_t _i = 0; _i < ARRAY_SIZE(_want); _i++)                                        \
                        if (!strstr(_e->msg, _want[_i]))                                                 \
                                fail_msg("'%s' not in '%s'", _want[_i], _e->msg);                       \
        } while (0)

static void test_parse(void **state)
{
        _cleanup_error_ Error *e = NULL;
        json_t *j = (json_t *)0x1;

        assert_int_equal(json_parse("{\"a\":", 5, "config.json", &j, &e), -EINVAL);
        assert_ptr_equal(j, (json_t *)0x1);
        assert_non_null(strstr(e->msg, "config.json"));
        assert_non_null(strstr(e->msg, "line 1"));
        e = error_free(e);
        /* Duplicate keys are refused, so a later key cannot shadow a validated one. */
        assert_int_equal(json_parse("{\"a\":1,\"a\":2}", 13, "x", &j, &e), -EINVAL);
        assert_non_null(e);
        e = error_free(e);
        /* len bounds the input: the trailing garbage is never looked at. */
        assert_int_equal(json_parse("[1]garbage", 3, "x", &j, &e), 0);
        assert_true(json_is_array(j));
        json_decref(j);
}

static void test_object(void **state)
{
        const json_t *doc = *state;
        json_t *o = NULL;

        assert_int_equal(json_get_object(doc, "obj", "linux", &o, NULL), 1);
        assert_ptr_equal(o, json_object_get(doc, "obj"));

        o = (json_t *)0x1;
        assert_int_equal(json_get_object(doc, "missing", "linux", &o, NULL), 0);
        assert_int_equal(json_get_object(doc, "nul", "linux", &o, NULL), 0);
        assert_int_equal(json_get_object(NULL, "obj", "linux", &o, NULL), 0);
        assert_ptr_equal(o, (json_t *)0x1);

        ASSERT_EINVAL(json_get_object(doc, "arr", "linux", &o, err), "linux.arr", "object");
        ASSERT_EINVAL(json_get_object(doc, "str", "linux", &o, err), "linux.str");
        assert_ptr_equal(o, (json_t *)0x1);
}

static void test_array(void **state)
{
        const json_t *doc = *state;
        json_t *a = NULL;

        assert_int_equal(json_get_array(doc, "arr", "x", &a, NULL), 1);
        assert_int_equal(json_array_size(a), 2);
        a = NULL;
        assert_int_equal(json_get_array(doc, "missing", "x", &a, NULL), 0);
        assert_int_equal(json_get_array(doc, "nul", "x", &a, NULL), 0);
        assert_null(a);
        ASSERT_EINVAL(json_get_array(doc, "obj", "process.capabilities", &a, err), "process.capabilities.obj",
                      "array");
        assert_null(a);
}

static void test_string(void **state)
{
        const json_t *doc = *state;
        const char *s = "untouched";

        assert_int_equal(json_get_string(doc, "missing", "root", &s, NULL), 0);
        assert_int_equal(json_get_string(doc, "nul", "root", &s, NULL), 0);
        assert_string_equal(s, "untouched");
        assert_int_equal(json_get_string(doc, "str", "root", &s, NULL), 1);
        assert_string_equal(s, "hello");
        s = "untouched";
        ASSERT_EINVAL(json_get_string(doc, "i", "root", &s, err), "root.i", "string");
        ASSERT_EINVAL(json_get_string(doc, "t", "root", &s, err), "root.t");
        ASSERT_EINVAL(json_get_string(doc, "sv", "root", &s, err), "root.sv");
        assert_string_equal(s, "untouched");
}

static void test_where_empty_or_null(void **state)
{
        const json_t *doc = *state;
        const char *s = NULL;
        _cleanup_error_ Error *e1 = NULL;
        _cleanup_error_ Error *e2 = NULL;

        /* Top-level keys: no leading dot in the message. */
        assert_int_equal(json_get_string(doc, "i", "", &s, &e1), -EINVAL);
        assert_true(strncmp(e1->msg, "i:", 2) == 0);
        assert_int_equal(json_get_string(doc, "i", NULL, &s, &e2), -EINVAL);
        assert_true(strncmp(e2->msg, "i:", 2) == 0);
}

static void test_bool(void **state)
{
        const json_t *doc = *state;
        bool b = true;

        assert_int_equal(json_get_bool(doc, "missing", "p", &b, NULL), 0);
        assert_int_equal(json_get_bool(doc, "nul", "p", &b, NULL), 0);
        assert_true(b);
        assert_int_equal(json_get_bool(doc, "f", "p", &b, NULL), 1);
        assert_false(b);
        assert_int_equal(json_get_bool(doc, "t", "p", &b, NULL), 1);
        assert_true(b);
        /* 0 and "false" are not booleans. */
        ASSERT_EINVAL(json_get_bool(doc, "zero", "process", &b, err), "process.zero", "boolean");
        ASSERT_EINVAL(json_get_bool(doc, "str", "process", &b, err), "process.str");
        assert_true(b);
}

static void test_int64(void **state)
{
        const json_t *doc = *state;
        int64_t v = 7;

        assert_int_equal(json_get_int64(doc, "missing", "p", &v, NULL), 0);
        assert_int_equal(json_get_int64(doc, "nul", "p", &v, NULL), 0);
        assert_int_equal(v, 7);
        assert_int_equal(json_get_int64(doc, "i", "p", &v, NULL), 1);
        assert_int_equal(v, -42);
        assert_int_equal(json_get_int64(doc, "big", "p", &v, NULL), 1);
        assert_true(v == INT64_MAX);
        v = 7;
        ASSERT_EINVAL(json_get_int64(doc, "real", "linux.resources.memory", &v, err),
                      "linux.resources.memory.real", "integer");
        ASSERT_EINVAL(json_get_int64(doc, "str", "p", &v, err), "p.str");
        ASSERT_EINVAL(json_get_int64(doc, "t", "p", &v, err), "p.t");
        assert_int_equal(v, 7);
}

static void test_uint64(void **state)
{
        const json_t *doc = *state;
        uint64_t v = 7;

        assert_int_equal(json_get_uint64(doc, "missing", "p", &v, NULL), 0);
        assert_int_equal(json_get_uint64(doc, "nul", "p", &v, NULL), 0);
        assert_int_equal(v, 7);
        assert_int_equal(json_get_uint64(doc, "u", "p", &v, NULL), 1);
        assert_int_equal(v, 42);
        assert_int_equal(json_get_uint64(doc, "zero", "p", &v, NULL), 1);
        assert_int_equal(v, 0);
        v = 7;
        ASSERT_EINVAL(json_get_uint64(doc, "i", "process.rlimits[0]", &v, err), "process.rlimits[0].i",
                      "unsigned");
        ASSERT_EINVAL(json_get_uint64(doc, "real", "p", &v, err), "p.real");
        ASSERT_EINVAL(json_get_uint64(doc, "str", "p", &v, err), "p.str");
        assert_int_equal(v, 7);
}

static void test_int_range(void **state)
{
        const json_t *doc = *state;
        int64_t v = 7;

        /* The bounds are inclusive. */
        assert_int_equal(json_get_int_range(doc, "u", "p", 42, 42, &v, NULL), 1);
        assert_int_equal(v, 42);
        assert_int_equal(json_get_int_range(doc, "i", "p", -42, 0, &v, NULL), 1);
        assert_int_equal(v, -42);
        assert_int_equal(json_get_int_range(doc, "big", "p", 0, INT64_MAX, &v, NULL), 1);
        assert_true(v == INT64_MAX);

        v = 7;
        ASSERT_EINVAL(json_get_int_range(doc, "u", "hooks.prestart[0]", 43, 100, &v, err),
                      "hooks.prestart[0].u", "42", "[43, 100]");
        ASSERT_EINVAL(json_get_int_range(doc, "u", "p", 0, 41, &v, err), "p.u", "[0, 41]");
        ASSERT_EINVAL(json_get_int_range(doc, "zero", "p", 1, INT32_MAX, &v, err), "p.zero");
        ASSERT_EINVAL(json_get_int_range(doc, "i", "p", 0, 100, &v, err), "p.i", "-42");
        ASSERT_EINVAL(json_get_int_range(doc, "str", "p", 0, 100, &v, err), "p.str", "integer");
        assert_int_equal(v, 7);

        /* Absent and null are not range-checked. */
        assert_int_equal(json_get_int_range(doc, "missing", "p", 1, 2, &v, NULL), 0);
        assert_int_equal(json_get_int_range(doc, "nul", "p", 1, 2, &v, NULL), 0);
        assert_int_equal(v, 7);
}

static void test_strv(void **state)
{
        const json_t *doc = *state;
        _cleanup_strv_ char **v = NULL;

        assert_int_equal(json_get_strv(doc, "missing", "p", &v, NULL), 0);
        assert_int_equal(json_get_strv(doc, "nul", "p", &v, NULL), 0);
        assert_null(v);

        assert_int_equal(json_get_strv(doc, "sv", "p", &v, NULL), 1);
        assert_int_equal(strv_length(v), 3);
        assert_string_equal(v[0], "a");
        assert_string_equal(v[1], "");
        assert_string_equal(v[2], "c");
        assert_null(v[3]);

        /* A second call replaces (and frees) the old vector. */
        assert_int_equal(json_get_strv(doc, "sv_empty", "p", &v, NULL), 1);
        assert_non_null(v);
        assert_int_equal(strv_length(v), 0);
}

static void test_strv_errors(void **state)
{
        const json_t *doc = *state;
        _cleanup_strv_ char **v = NULL;

        strv_push(&v, "keep");
        /* The index of the offending element is named; the old vector survives. */
        ASSERT_EINVAL(json_get_strv(doc, "sv_bad", "process", &v, err), "process.sv_bad[2]", "string");
        ASSERT_EINVAL(json_get_strv(doc, "str", "process", &v, err), "process.str", "array");
        assert_int_equal(strv_length(v), 1);
        assert_string_equal(v[0], "keep");
}

static void test_not_an_object(void **state)
{
        _cleanup_json_ json_t *arr = json_pack("[i]", 1);
        json_t *o = NULL;

        /* Looking a key up in a non-object finds nothing rather than crash. */
        assert_int_equal(json_get_object(arr, "a", "x", &o, NULL), 0);
        assert_null(o);
}

static void test_dump_compact(void **state)
{
        _cleanup_json_ json_t *j = json_pack("{s:i, s:[s]}", "a", 1, "b", "c");
        _cleanup_free_ char *s = json_dump_compact(j);

        assert_null(strchr(s, ' '));
        assert_null(strchr(s, '\n'));
        assert_non_null(strstr(s, "\"a\":1"));
        assert_non_null(strstr(s, "\"b\":[\"c\"]"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_object),
                cmocka_unit_test(test_array),
                cmocka_unit_test(test_string),
                cmocka_unit_test(test_where_empty_or_null),
                cmocka_unit_test(test_bool),
                cmocka_unit_test(test_int64),
                cmocka_unit_test(test_uint64),
                cmocka_unit_test(test_int_range),
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_strv_errors),
                cmocka_unit_test(test_not_an_object),
                cmocka_unit_test(test_dump_compact),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
