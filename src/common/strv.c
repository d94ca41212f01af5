/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strv.c: NULL-terminated string vectors */
#include <string.h>

#include "alloc.h"
#include "strv.h"

size_t strv_length(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

void strv_consume(char ***v, char *s)
{
        size_t n = strv_length(*v);
        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = s;
        (*v)[n + 1] = NULL;
}

void strv_push(char ***v, const char *s)
{
        strv_consume(v, xstrdup(s));
}

char **strv_copy(char *const *v)
{
        size_t n = strv_length(v);
        char **c = xnew0(char *, n + 1);
        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(v[i]);
        return c;
}

bool strv_contains(char *const *v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

const char *strv_env_get(char *const *env, const char *key)
{
        size_t len = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, len) == 0 && env[i][len] == '=')
                        return env[i] + len + 1;
        return NULL;
}

void strv_env_set(char ***env, const char *assignment)
{
        const char *eq = strchr(assignment, '=');
        size_t len = eq ? (size_t)(eq - assignment) : strlen(assignment);

        for (size_t i = 0; *env && (*env)[i]; i++) {
                if (strncmp((*env)[i], assignment, len) == 0 && (*env)[i][len] == '=') {
                        free((*env)[i]);
                        (*env)[i] = xstrdup(assignment);
                        return;
                }
        }
        strv_push(env, assignment);
}

char **strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
        return NULL;
}
