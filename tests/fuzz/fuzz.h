/* fuzz.h: what every fuzz target defines (libFuzzer's entry point), so that the same
 * target builds two ways: with clang's libFuzzer (tests/fuzz/run), and with standalone.c as
 * a plain program that replays the seed and regression corpora under the sanitizer build
 * (ctest fuzz_replay_*).
 */
#ifndef KF_TESTS_FUZZ_H
#define KF_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Feed one input. Must not keep data past the call, leak, or crash; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
