/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strv.h: NULL-terminated string vectors */
#pragma once

#include <stddef.h>
#include "cleanup.h"

size_t strv_length(char *const *v);
/* Appends a copy of s; *v may be NULL. */
void strv_push(char ***v, const char *s);
/* Takes ownership of s. */
void strv_consume(char ***v, char *s);
char **strv_copy(char *const *v);
bool strv_contains(char *const *v, const char *s);
/* The value of "KEY=value" entries for key, or NULL. */
const char *strv_env_get(char *const *env, const char *key);
/* Sets or replaces KEY=value in *env. */
void strv_env_set(char ***env, const char *assignment);
char **strv_free(char **v);
DEFINE_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_ _cleanup_(strv_freep)
