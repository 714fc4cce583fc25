/* kf/codec.h: zstd compression with the shipped, trained dictionary.
 *
 * The dictionary (common/dict/kf-records-v1.zdict) is compiled into kf_common; its id
 * (KF_DICT_ID_V1) travels in every frame's header. Decompression is always into a
 * caller-bounded buffer: a frame that would inflate past it fails with -EMSGSIZE
 * (1 GiB of zeros compresses to 33 KB; nothing is allocated for it).
 */
#ifndef KF_CODEC_H
#define KF_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define KF_DICT_ID_V1 0x4B460001u /* "KF" v1 */

/* Per-thread compression state (not thread-safe; one per thread or per agent). The digested
 * dictionary behind it is built once per process and shared read-only by all contexts. */
struct kf_zctx;

/* Returns owned context in *ret (level: zstd level, 1..19; 3 is the default). 0 or -ENOMEM. */
int kf_zctx_new(int level, struct kf_zctx **ret);
void kf_zctx_free(struct kf_zctx *z); /* NULL is a no-op */

/* Compress in[0..len) with the v1 dictionary into out (cap). On success writes
 * *ret_len and *ret_dict_id (KF_DICT_ID_V1). -EMSGSIZE if it does not fit. */
int kf_zctx_compress(struct kf_zctx *z, const void *in, size_t len, void *out, size_t cap,
                     size_t *ret_len, uint32_t *ret_dict_id);

/* Decompress exactly one zstd frame made with dictionary dict_id into out (cap bytes);
 * dict_id 0 means a frame made without a dictionary. Nothing is allocated.
 * Returns 0 and *ret_len, -ENOENT (unknown dict id, or the frame names a different
 * dictionary than dict_id), -EMSGSIZE (would exceed cap), -EBADMSG (corrupt frame,
 * trailing bytes). */
int kf_zctx_decompress(struct kf_zctx *z, uint32_t dict_id, const void *in, size_t len, void *out,
                       size_t cap, size_t *ret_len);

#endif
