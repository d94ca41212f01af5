/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-resources.c: libFuzzer target for linux.resources (and `update`'s JSON): rt_resources_parse() */
#include <stddef.h>
#include <stdint.h>

#include "common/json.h"
#include "runtime/cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_json_ json_t *json = NULL;
        _cleanup_(rt_resources_freep) RtResources *res = NULL;
        _cleanup_error_ Error *err = NULL;

        if (json_parse((const char *)data, size, "fuzz input", &json, NULL) < 0)
                return 0;
        /* Anything that parses as JSON goes in, objects or not: the parser must say no, not crash. */
        (void)rt_resources_parse(json, "linux.resources", &res, &err);
        return 0;
}
