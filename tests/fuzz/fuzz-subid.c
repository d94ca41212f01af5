/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-subid.c: libFuzzer target for subuid(5) lines: root's range found or refused, never past 2^32 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "instance/idmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = xmalloc(size + 1);
        uint64_t start = 0, count = 0;
        Error *e = NULL;
        int r;

        memcpy(text, data, size);
        text[size] = '\0';
        r = inst_idmap_parse_subid(text, "root", &start, &count, &e);
        if (r == 1 && (start > UINT32_MAX || start + count > (uint64_t)UINT32_MAX + 1))
                abort();
        if ((r < 0) != (e != NULL) || (r < 0 && r != -EINVAL))
                abort();
        error_free(e);
        free(text);
        return 0;
}
