/* update_dl.h: the download of one `update` command's artifact (docs/PROTOCOL.md "FETCH",
 * "PART"), kept in files beside the outbox so that a restart resumes it where it stopped.
 *
 * For command seq N in directory DIR:
 *   DIR/update-N.manifest  the signed manifest, written (atomically) once it arrived whole,
 *                          hashed to the command's manifest SHA-256 and verified under the
 *                          pinned release key, for this terminal's kind;
 *   DIR/update-N.deb       the package, each chunk written at its offset;
 *   DIR/update-N.have      how many chunks from the first are in the .deb and synced (a
 *                          decimal number, replaced atomically after an fdatasync of the .deb).
 * Chunks are taken in order only (index == have): a chunk past a gap (a PART lost, QoS 0)
 * is ignored and asked again, so the files never hold a hole. have is persisted every
 * KF_FETCH_WINDOW chunks and at the end: a kill -9 costs at most a window again.
 *
 * Not the loop's business how frames travel: the caller asks kf_upd_dl_want what to FETCH,
 * hands every PART of this command (MAC verified, parsed) to kf_upd_dl_take, and once it says
 * complete, kf_upd_dl_check verifies the package against the manifest. Single thread.
 * Functions return 0 or a negative errno.
 */
#ifndef KF_AGENT_UPDATE_DL_H
#define KF_AGENT_UPDATE_DL_H

#include <stddef.h>
#include <stdint.h>

#include <kf/fetch.h>
#include <kf/manifest.h>

struct kf_upd_dl;

/* Open (or resume) the download for command seq of the artifact whose signed manifest
 * hashes to manifest_sha, for a terminal of kind ("kiosk"/"itm") pinning release_pk.
 * Files already there are trusted only as far as they verify again (the manifest) or
 * as far as the .have file says (the package). Owned *ret. -ENOMEM, -errno (files). */
int kf_upd_dl_open(const char *dir, uint64_t cmd_seq, const uint8_t manifest_sha[32],
                   const uint8_t release_pk[32], const char *kind, struct kf_upd_dl **ret);
/* The next FETCH to send (cmd_seq, manifest hash, part, first, count set): 0; or 1 when
 * everything is here (nothing to ask). */
int kf_upd_dl_want(const struct kf_upd_dl *d, struct kf_fetch *ret);
/* Take a PART of this command. 1: progress (a chunk kept); 0: ignored (another command's,
 * a chunk already held or past a gap); -ENOENT: the server has no such artifact for this
 * command (state unknown); -EKEYREJECTED: the manifest does not verify under the pinned
 * key; -EMEDIUMTYPE: the manifest is not for this terminal's kind; -EBADMSG: the part
 * contradicts the manifest (size or SHA-256 declared) or hashes to another manifest;
 * -errno: writing. After an error other than -errno the download cannot go on: the command
 * fails (the caller says why: kf_upd_dl_why). */
int kf_upd_dl_take(struct kf_upd_dl *d, const struct kf_part *p);
/* Progress: chunks held, of how many (0 until the manifest is here). */
void kf_upd_dl_progress(const struct kf_upd_dl *d, uint32_t *have, uint32_t *of);
/* The manifest, once it is here and verified: 0 with *ret, or -EAGAIN. */
int kf_upd_dl_manifest(const struct kf_upd_dl *d, struct kf_manifest *ret);
/* Once kf_upd_dl_want says 1: the package's size and SHA-256 against the manifest's. 0 with
 * *ret (the manifest) and *ret_path (the package, borrowed from d); -EBADMSG when it does
 * not match (the package file is removed: a new download starts from 0). */
int kf_upd_dl_check(struct kf_upd_dl *d, struct kf_manifest *ret, const char **ret_path);
/* A line for a cmd_result's detail about the last error. */
const char *kf_upd_dl_why(const struct kf_upd_dl *d);
void kf_upd_dl_close(struct kf_upd_dl *d);
/* Remove command seq's files (after it was reported, or to start again). */
void kf_upd_dl_remove(const char *dir, uint64_t cmd_seq);

#endif
