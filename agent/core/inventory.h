/* core/inventory.h: the host's part of the terminal's inventory (kf/inventory.h): OS name and
 * version from <etc_root>/os-release, the kernel release (uname), the CPU model and cores
 * from <proc_root>/cpuinfo, MemTotal from <proc_root>/meminfo, the disk under disk_path
 * (statvfs, in whole GiB). Reads are bounded (fixed buffers, at most 256 lines a file); a
 * source that is missing leaves its fields empty or 0. Any thread; no state. */
#ifndef KF_AGENT_CORE_INVENTORY_H
#define KF_AGENT_CORE_INVENTORY_H

#include <kf/inventory.h>

/* Fill the host's fields of *inv (os, os_version, kernel, cpu, cores, mem_mb, disk_gb,
 * disk_free_gb); the agent's and the application's fields are left as they are. Borrows
 * the paths (NULL: "/proc", "/etc", "/"). Always 0. */
int kf_inventory_probe(const char *proc_root, const char *etc_root, const char *disk_path,
                       struct kf_inventory *inv);

#endif
