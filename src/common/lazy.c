/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lazy.c: opening a LAZY_LIB library on first use and resolving its functions */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy.h"

void lazy_open(LazyLib *lib)
{
        const char *e;

        lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
        if (lib->handle)
                return;
        /*
         * dlerror()'s text lives in a buffer of this thread, which may be gone by the time another
         * thread reports it: keep a copy, reachable from lib for the life of the process.
         */
        e = dlerror();
        lib->error = strdup(e ? e : "unknown error");
}

void *lazy_resolve(LazyLib *lib, void (*open_fn)(void), const char *name)
{
        void *fn;

        pthread_once(&lib->once, open_fn);
        if (!lib->handle) {
                fprintf(stderr, "hull: cannot load %s (install it): %s\n", lib->soname,
                        lib->error ? lib->error : "out of memory");
                exit(127);
        }
        fn = dlsym(lib->handle, name);
        if (!fn) {
                const char *e = dlerror();

                fprintf(stderr, "hull: %s has no '%s': %s\n", lib->soname, name, e ? e : "not found");
                exit(127);
        }
        return fn;
}
