/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json.h: typed access to jansson values with errors that name the field */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include "error.h"

static inline json_t *json_decref_null(json_t *j)
{
        json_decref(j);
        return NULL;
}
DEFINE_CLEANUP_FUNC(json_t *, json_decref_null)
#define _cleanup_json_ _cleanup_(json_decref_nullp)

/* Parses buf; errors name `what` and the line and column. */
int json_parse(const char *buf, size_t len, const char *what, json_t **ret, Error **err);

/*
 * Getters: look up key in obj (which may be NULL). `where` is the dotted path of obj for messages
 * ("process.user"). Return 0 when the key is absent or null (ret untouched), 1 when present and of
 * the right type, -EINVAL (with err naming "where.key") when of the wrong type.
 */
int json_get_object(const json_t *obj, const char *key, const char *where, json_t **ret, Error **err);
int json_get_array(const json_t *obj, const char *key, const char *where, json_t **ret, Error **err);
int json_get_string(const json_t *obj, const char *key, const char *where, const char **ret, Error **err);
int json_get_bool(const json_t *obj, const char *key, const char *where, bool *ret, Error **err);
int json_get_int64(const json_t *obj, const char *key, const char *where, int64_t *ret, Error **err);
/* Like json_get_int64 but the value must lie in [min, max]. */
int json_get_int_range(const json_t *obj, const char *key, const char *where, int64_t min, int64_t max,
                       int64_t *ret, Error **err);
int json_get_uint64(const json_t *obj, const char *key, const char *where, uint64_t *ret, Error **err);
/* An array of strings as a new strv (NULL-terminated); absent gives 0 and leaves *ret. */
int json_get_strv(const json_t *obj, const char *key, const char *where, char ***ret, Error **err);

/* Serialises compactly into a malloc'd string. */
char *json_dump_compact(const json_t *j);
