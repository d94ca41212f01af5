/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-seccomp.c: libFuzzer target for linux.seccomp, parsed and compiled but never loaded */
#include <stddef.h>
#include <stdint.h>

#include "common/json.h"
#include "runtime/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_json_ json_t *json = NULL;
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        _cleanup_error_ Error *err = NULL;

        if (json_parse((const char *)data, size, "fuzz input", &json, NULL) < 0)
                return 0;
        (void)rt_seccomp_prepare(json, "linux.seccomp", -1, &s, &err);
        return 0;
}
