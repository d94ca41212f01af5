/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lazy.h: shared libraries loaded on first use, with functions that resolve themselves once */
#pragma once

#include <pthread.h>

/*
 * Some libraries (libcurl, libarchive, libnftables) cost every process milliseconds to load and
 * initialise, though most commands never call them. Such a library is not linked: the functions
 * hull calls are defined with LAZY() below, each resolving the real one with dlopen(3) and dlsym(3)
 * on its first call (the library once, under pthread_once, so threads may call them freely). The
 * definitions are checked against the library's own header, which the defining file includes.
 */
typedef struct LazyLib {
        const char *soname;
        pthread_once_t once;
        void *handle;
        const char *error;
} LazyLib;

#define LAZY_LIB(var, so)                                                                                \
        static LazyLib lazy_##var = { so, PTHREAD_ONCE_INIT, NULL, NULL };                               \
        static void lazy_open_##var(void)                                                                \
        {                                                                                                \
                lazy_open(&lazy_##var);                                                                  \
        }

/* The body of each library's pthread_once function. */
void lazy_open(LazyLib *lib);

/*
 * The function name of lib, or the end of the process with one line on stderr: a missing library
 * is an installation error, as one the dynamic loader would refuse to start with.
 */
void *lazy_resolve(LazyLib *lib, void (*open_fn)(void), const char *name);

/* Defines function name of library var (declared with LAZY_LIB) with the given prototype. */
#define LAZY(var, ret, name, params, args)                                                               \
        ret name params                                                                                  \
        {                                                                                                \
                static ret(*volatile fn) params;                                                         \
                ret(*f) params = fn;                                                                     \
                if (!f)                                                                                  \
                        fn = f = (ret(*) params)lazy_resolve(&lazy_##var, lazy_open_##var, #name);       \
                return f args;                                                                           \
        }
#define LAZY_VOID(var, name, params, args)                                                               \
        void name params                                                                                 \
        {                                                                                                \
                static void(*volatile fn) params;                                                        \
                void(*f) params = fn;                                                                    \
                if (!f)                                                                                  \
                        fn = f = (void(*) params)lazy_resolve(&lazy_##var, lazy_open_##var, #name);      \
                f args;                                                                                  \
        }
