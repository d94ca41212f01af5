/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-challenge.c: a registry's WWW-Authenticate header, as untrusted as the rest of its reply */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "image/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *h = xstrndup((const char *)data, size);
        ImgHttpChallenge ch;

        img_http_challenge_parse(h, &ch);
        /* What was read are strings of the header: never longer than it. */
        if ((ch.realm && strlen(ch.realm) > size) || (ch.scope && strlen(ch.scope) > size))
                __builtin_trap();
        img_http_challenge_done(&ch);
        free(h);
        return 0;
}
