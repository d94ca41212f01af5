/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-user.c: libFuzzer target for --user against an image's /etc/passwd and /etc/group texts */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "instance/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next NUL-terminated piece of data at *pos, malloc'd; NULL when none is left. */
static char *next_piece(const uint8_t *data, size_t size, size_t *pos)
{
        const uint8_t *nul;
        size_t len;
        char *s;

        if (*pos > size)
                return NULL;
        nul = memchr(data + *pos, 0, size - *pos);
        len = nul ? (size_t)(nul - (data + *pos)) : size - *pos;
        s = xstrndup((const char *)data + *pos, len);
        *pos += len + 1;
        return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_error_ Error *err = NULL;
        _cleanup_free_ char *user = NULL, *passwd = NULL, *group = NULL;
        size_t pos = 0;
        InstUser u;

        /* "user\0passwd\0group": a missing piece is a missing file. */
        user = next_piece(data, size, &pos);
        passwd = next_piece(data, size, &pos);
        group = next_piece(data, size, &pos);
        if (inst_user_resolve(user, passwd, group, &u, &err) < 0) {
                if (!err || u.additional_gids || u.home)
                        abort(); /* a failure always says why and leaves nothing to free */
                return 0;
        }
        if (err || u.uid > INT32_MAX || u.gid > INT32_MAX)
                abort();
        for (size_t i = 0; i < u.n_additional_gids; i++) {
                if (u.additional_gids[i] == u.gid)
                        abort(); /* the primary group is not repeated */
                for (size_t k = 0; k < i; k++)
                        if (u.additional_gids[k] == u.additional_gids[i])
                                abort(); /* nor any other */
        }
        inst_user_done(&u);
        return 0;
}
