/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-reference.c: libFuzzer target for img_reference_parse(), and its canonical form parsing back */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "image/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = xstrndup((const char *)data, size);
        _cleanup_(img_reference_freep) ImgReference *r = NULL, *again = NULL;
        _cleanup_free_ char *canonical = NULL;
        _cleanup_error_ Error *err = NULL;

        /* A reference comes from a command line: a C string, so the input stops at a NUL. */
        (void)img_registry_is_loopback(s);
        if (img_reference_parse(s, &r, &err) < 0)
                return 0;
        (void)img_registry_is_loopback(r->registry);
        /* Whatever is accepted has a canonical form that is accepted too and means the same. */
        canonical = img_reference_to_string(r);
        if (img_reference_parse(canonical, &again, &err) < 0)
                abort();
        if (!same(r->registry, again->registry) || !same(r->repository, again->repository) ||
            !same(r->tag, again->tag) || !same(r->digest, again->digest))
                abort();
        return 0;
}
