/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json.c: typed access to jansson values with errors that name the field */
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "strv.h"

int json_parse(const char *buf, size_t len, const char *what, json_t **ret, Error **err)
{
        json_error_t jerr;
        json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return error_setf(err, EINVAL, "%s: line %d column %d: %s", what, jerr.line, jerr.column,
                                  jerr.text);
        *ret = j;
        return 0;
}

static json_t *lookup(const json_t *obj, const char *key)
{
        json_t *v;
        if (!obj || !json_is_object(obj))
                return NULL;
        v = json_object_get(obj, key);
        return json_is_null(v) ? NULL : v;
}

static int wrong(Error **err, const char *where, const char *key, const char *expected)
{
        return error_setf(err, EINVAL, "%s%s%s: expected %s", where ? where : "", where && *where ? "." : "",
                          key, expected);
}

int json_get_object(const json_t *obj, const char *key, const char *where, json_t **ret, Error **err)
{
        json_t *v = lookup(obj, key);
        if (!v)
                return 0;
        if (!json_is_object(v))
                return wrong(err, where, key, "an object");
        *ret = v;
        return 1;
}

int json_get_array(const json_t *obj, const char *key, const char *where, json_t **ret, Error **err)
{
        json_t *v = lookup(obj, key);
        if (!v)
                return 0;
        if (!json_is_array(v))
                return wrong(err, where, key, "an array");
        *ret = v;
        return 1;
}

int json_get_string(const json_t *obj, const char *key, const char *where, const char **ret, Error **err)
{
        json_t *v = lookup(obj, key);
        if (!v)
                return 0;
        if (!json_is_string(v))
                return wrong(err, where, key, "a string");
        *ret = json_string_value(v);
        return 1;
}

int json_get_bool(const json_t *obj, const char *key, const char *where, bool *ret, Error **err)
{
        json_t *v = lookup(obj, key);
        if (!v)
                return 0;
        if (!json_is_boolean(v))
                return wrong(err, where, key, "a boolean");
        *ret = json_is_true(v);
        return 1;
}

int json_get_int64(const json_t *obj, const char *key, const char *where, int64_t *ret, Error **err)
{
        json_t *v = lookup(obj, key);
        if (!v)
                return 0;
        if (!json_is_integer(v))
                return wrong(err, where, key, "an integer");
        *ret = json_integer_value(v);
        return 1;
}

int json_get_int_range(const json_t *obj, const char *key, const char *where, int64_t min, int64_t max,
                       int64_t *ret, Error **err)
{
        int64_t x;
        int r = json_get_int64(obj, key, where, &x, err);
        if (r <= 0)
                return r;
        if (x < min || x > max)
                return error_setf(err, EINVAL, "%s%s%s: %lld is out of range [%lld, %lld]", where ? where : "",
                                  where && *where ? "." : "", key, (long long)x, (long long)min,
                                  (long long)max);
        *ret = x;
        return 1;
}

int json_get_uint64(const json_t *obj, const char *key, const char *where, uint64_t *ret, Error **err)
{
        json_t *v = lookup(obj, key);
        if (!v)
                return 0;
        /* jansson holds integers as signed 64-bit: values above INT64_MAX fail to parse at all. */
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return wrong(err, where, key, "an unsigned integer");
        *ret = (uint64_t)json_integer_value(v);
        return 1;
}

int json_get_strv(const json_t *obj, const char *key, const char *where, char ***ret, Error **err)
{
        _cleanup_strv_ char **v = NULL;
        json_t *a, *e;
        size_t i;
        int r;

        r = json_get_array(obj, key, where, &a, err);
        if (r <= 0)
                return r;
        v = xnew0(char *, json_array_size(a) + 1);
        json_array_foreach (a, i, e) {
                if (!json_is_string(e))
                        return error_setf(err, EINVAL, "%s%s%s[%zu]: expected a string", where ? where : "",
                                          where && *where ? "." : "", key, i);
                v[i] = xstrdup(json_string_value(e));
        }
        strv_free(*ret);
        *ret = TAKE_PTR(v);
        return 1;
}

char *json_dump_compact(const json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT);
        if (!s)
                abort();
        return s;
}
