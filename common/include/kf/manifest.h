/* kf/manifest.h: release manifests (docs/PROTOCOL.md section 14, "Software artifacts"): what
 * a software artifact (a Debian package of the agent or of the kiosk application) is, signed
 * by the **release key**, an Ed25519 key apart from the server key and kept off the server
 * (docs/SECURITY.md "Release key"). A terminal pins the release public key and installs
 * nothing whose manifest does not verify under it, whatever the server says.
 *
 * The manifest is canonical JSON (compact, keys sorted, exactly these five):
 *   {"kinds":["kiosk"],"name":"kiosk-agent","sha256":"<64 hex>","size":123456,"version":"1.1"}
 * The signed manifest (the file `kioskctl artifact sign` writes, what a terminal receives):
 *   {"manifest":<the manifest>,"sig":"<128 hex>"}
 * with sig = Ed25519 over "kioskfleet/manifest/v1" (22 bytes) || the manifest's canonical
 * bytes. A reader re-makes the canonical bytes from the fields it parsed and verifies
 * the signature over those: a field changed does not verify; spacing does not matter.
 *
 * Any thread; no globals. Functions return 0 or a negative errno.
 */
#ifndef KF_MANIFEST_H
#define KF_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define KF_MANIFEST_NAME_MAX 64                     /* a Debian package name */
#define KF_MANIFEST_VERSION_MAX 64                  /* a Debian version */
#define KF_MANIFEST_FILE_MAX 1024                   /* a signed manifest, bytes */
#define KF_ARTIFACT_MAX_BYTES (64u * 1024u * 1024u) /* an artifact */
#define KF_MANIFEST_SIGN_CONTEXT "kioskfleet/manifest/v1"

/* Terminal kinds an artifact is for (a bit each). */
#define KF_MANIFEST_KIOSK 0x1u
#define KF_MANIFEST_ITM 0x2u

struct kf_manifest {
    char name[KF_MANIFEST_NAME_MAX + 1];       /* [a-z0-9][a-z0-9.+-]+, 2..64 */
    char version[KF_MANIFEST_VERSION_MAX + 1]; /* [A-Za-z0-9.+~:-], 1..64, a digit first */
    unsigned kinds;                            /* KF_MANIFEST_*, at least one */
    uint64_t size;                             /* 1..KF_ARTIFACT_MAX_BYTES */
    uint8_t sha256[32];
};

/* 1 if s is a package name, a version, by the rules above (the `update` command's args). */
int kf_manifest_name_ok(const char *s);
int kf_manifest_version_ok(const char *s);
/* 1 if the fields are within the rules above. */
int kf_manifest_valid(const struct kf_manifest *m);
/* 1 if m is for terminals of kind ("kiosk" or "itm"). */
int kf_manifest_for_kind(const struct kf_manifest *m, const char *kind);
/* The canonical manifest: a malloc'd string (owned). -EINVAL, -ENOMEM. */
int kf_manifest_body(const struct kf_manifest *m, char **ret);
/* The signed manifest with the release secret key: a malloc'd string (owned), at most
 * KF_MANIFEST_FILE_MAX bytes. -EINVAL, -ENOMEM. */
int kf_manifest_sign(const struct kf_manifest *m, const uint8_t release_sk[64], char **ret);
/* Parse a signed manifest strictly and verify it under the pinned release public key:
 * 0 with *ret, -EBADMSG (not a signed manifest by these rules), -EKEYREJECTED (the signature
 * does not verify). Borrows text (len bytes, no NUL needed). */
int kf_manifest_open(const char *text, size_t len, const uint8_t release_pk[32],
                     struct kf_manifest *ret);

#endif
