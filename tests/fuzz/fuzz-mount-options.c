/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-mount-options.c: libFuzzer target for a mount's options: rt_mount_parse_options() */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/strv.h"
#include "runtime/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_error_ Error *err = NULL;
        RtMount m = { 0 };
        size_t start = 0;

        /* One option per NUL- or newline-separated piece; empty pieces stay (the parser skips them). */
        for (size_t i = 0; i <= size; i++) {
                if (i < size && data[i] != '\n' && data[i] != '\0')
                        continue;
                strv_consume(&m.options, xstrndup((const char *)data + start, i - start));
                start = i + 1;
        }
        /* Parsing twice must reset what the first pass set, not accumulate or leak it. */
        if (rt_mount_parse_options(&m, "mounts[0]", &err) == 0)
                (void)rt_mount_parse_options(&m, "mounts[0]", NULL);
        strv_free(m.options);
        free(m.data);
        return 0;
}
