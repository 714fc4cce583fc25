/* fuzz_conf: a configuration file as kioskd reads it, through the one INI engine the agent
 * shares (kf/conf.h): every section's table, bounds and checks. */
#include <stdlib.h>
#include <string.h>

#include "kioskd/config.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kf_kioskd_config *cfg = malloc(sizeof(*cfg));
    char *text = malloc(size + 1), err[512];

    if (cfg != NULL && text != NULL) {
        memcpy(text, data, size);
        text[size] = '\0';
        (void)kf_config_load_string(text, "fuzz.ini", cfg, err, sizeof(err));
    }
    free(text);
    free(cfg);
    return 0;
}
