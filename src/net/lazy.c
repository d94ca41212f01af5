/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lazy.c: the libnftables functions nft.c calls, loaded on first use so other commands start fast */
/*
 * libnftables brings libnftnl, libxtables and libgmp along: about 0.6 ms of loading and relocation
 * at every process start, though only network changes need it. hull does not link it; these
 * definitions, checked against its header, load it when first called (common/lazy.h).
 */
#include <nftables/libnftables.h>

#include "common/lazy.h"

LAZY_LIB(nftables, "libnftables.so.1")

LAZY(nftables, int, nft_ctx_buffer_error, (struct nft_ctx *ctx), (ctx))
LAZY(nftables, int, nft_ctx_buffer_output, (struct nft_ctx *ctx), (ctx))
LAZY_VOID(nftables, nft_ctx_free, (struct nft_ctx *ctx), (ctx))
LAZY(nftables, const char *, nft_ctx_get_error_buffer, (struct nft_ctx *ctx), (ctx))
LAZY(nftables, const char *, nft_ctx_get_output_buffer, (struct nft_ctx *ctx), (ctx))
LAZY(nftables, struct nft_ctx *, nft_ctx_new, (uint32_t flags), (flags))
LAZY(nftables, int, nft_run_cmd_from_buffer, (struct nft_ctx *nft, const char *buf), (nft, buf))
