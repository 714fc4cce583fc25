/* kioskctl: the operators' CLI, a thin main over kf_ctl (kioskctl/ctl.h): the commands,
 * their options and their output are documented in docs/KIOSKCTL.md. */
#include "kioskctl/ctl.h"

int main(int argc, char **argv)
{
    return kf_ctl_main(argc, argv);
}
