/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-spec.c: libFuzzer target for config.json: rt_spec_parse() on the raw bytes, then free */
#include <stddef.h>
#include <stdint.h>

#include "runtime/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(rt_spec_freep) RtSpec *s = NULL;
        _cleanup_error_ Error *err = NULL;

        /* The parser takes a length, so the input needs no NUL and may hold NULs. */
        (void)rt_spec_parse((const char *)data, size, &s, &err);
        return 0;
}
