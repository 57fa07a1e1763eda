/*
 * Unit tests for vmm/api_config.c: Cloud Hypervisor's VmConfig / DiskConfig / NetConfig bodies
 * into struct vmm_config (Kata's vm.create body, every refusal naming its field, unknown
 * fields at every level, wrong types and ranges, invalid JSON) and VmInfo / VmmPingResponse out
 * (parsed back with jansson, and fed back to vm.create).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "api_config.h"
#include "api_internal.h"

static struct vmm_config cfg;
static char err[256];

static void setup(void)
{
	config_init(&cfg);
	err[0] = '\0';
}

static void teardown(void)
{
	config_free(&cfg);
}

TestSuite(api_config, .init = setup, .fini = teardown);

static int create(const char *json)
{
	return api_vm_config(json, strlen(json), &cfg, err, sizeof(err));
}

/* vm.create with a minimal payload and the members EXTRA (",\"x\": ..." or ""). */
static int create_with(const char *extra)
{
	char body[2048];

	snprintf(body, sizeof(body), "{\"payload\": {\"kernel\": \"/vmlinux\"}%s}", extra);
	return create(body);
}

struct refusal {
	const char *extra;	/* members added to a minimal body */
	const char *msg;	/* the exact error */
};

static void expect_refusals(const struct refusal *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		config_free(&cfg);
		config_init(&cfg);
		err[0] = '\0';
		cr_expect_eq(create_with(r[i].extra), -EINVAL, "accepted: %s", r[i].extra);
		cr_expect_str_eq(err, r[i].msg, "for: %s", r[i].extra);
	}
}

#define EXPECT_REFUSALS(...) do {						\
	static const struct refusal r_[] = { __VA_ARGS__ };			\
	expect_refusals(r_, sizeof(r_) / sizeof(r_[0]));			\
} while (0)

/*
 * What Kata's clh driver sends for a default sandbox (clh.go CreateVM, Kata 3.27, x86_64, on
 * a host with 8 CPUs and 16 GiB): every object comes from the generated client's New*Config()
 * constructors, whose defaults are filled in even when nobody set them (NewConsoleConfig's
 * "iommu": false on serial as well, NewDiskConfig's num_queues 1 / queue_size 128 / sparse,
 * NewMemoryConfig's mergeable, hotplug_method, prefault, thp). The guest image is a read-only
 * disk, virtio-fs (memory.shared, therefore) on PCI segment 1, hybrid vsock; the NIC comes
 * later with vm.add-net. max_vcpus (all host CPUs) and memory.hotplug_size (all host RAM) are
 * accepted and ignored until hot-plug exists: only a max_vcpus below boot_vcpus is refused,
 * which Kata never sends. What Kata's options can add that kvmm still refuses is in
 * kata_options_still_refused below.
 */
static const char kata_body[] =
	"{\"payload\": {\"kernel\": \"/opt/kata/share/kata-containers/vmlinux.container\","
	"  \"cmdline\": \"root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro"
	" rootfstype=ext4 panic=1 no_timer_check noreplace-smp quiet"
	" systemd.unit=kata-containers.target systemd.mask=systemd-networkd.service"
	" systemd.mask=systemd-networkd.socket scsi_mod.scan=none\"},"
	" \"platform\": {\"num_pci_segments\": 2, \"tdx\": false, \"sev_snp\": false},"
	" \"memory\": {\"size\": 2147483648, \"mergeable\": false, \"hotplug_method\": \"Acpi\","
	"  \"shared\": true, \"hugepages\": false, \"prefault\": false, \"thp\": true,"
	"  \"hotplug_size\": 17179869184},"
	" \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 8, \"kvm_hyperv\": false, \"nested\": true,"
	"  \"topology\": {\"threads_per_core\": 1, \"cores_per_die\": 8, \"dies_per_package\": 1,"
	"   \"packages\": 1}},"
	" \"rng\": {\"src\": \"/dev/urandom\", \"iommu\": false},"
	" \"disks\": [{\"path\": \"/opt/kata/share/kata-containers/kata-containers.img\","
	"  \"readonly\": true, \"direct\": false, \"iommu\": false, \"num_queues\": 1,"
	"  \"queue_size\": 128, \"vhost_user\": false, \"backing_files\": false, \"sparse\": true,"
	"  \"image_type\": \"Raw\"}],"
	" \"fs\": [{\"tag\": \"kataShared\", \"socket\": \"/run/vc/vm/ID/vhost-fs.sock\","
	"  \"num_queues\": 1, \"queue_size\": 1024, \"pci_segment\": 1}],"
	" \"serial\": {\"mode\": \"Off\", \"iommu\": false},"
	" \"console\": {\"mode\": \"Off\", \"iommu\": false},"
	" \"vsock\": {\"cid\": 3, \"socket\": \"/run/vc/vm/ID/clh.sock\", \"iommu\": false},"
	" \"iommu\": false, \"watchdog\": false, \"pvpanic\": false, \"landlock_enable\": false}";

Test(api_config, kata_vm_create)
{
	cr_assert_eq(create(kata_body), 0, "%s", err);
	cr_assert_str_eq(cfg.kernel, "/opt/kata/share/kata-containers/vmlinux.container");
	cr_assert_null(cfg.initramfs);
	cr_assert(!strncmp(cfg.cmdline, "root=/dev/vda1 ", 15), "%s", cfg.cmdline);
	cr_assert_eq(cfg.boot_vcpus, 1);
	cr_assert_eq(cfg.mem_size, 2ULL << 30);
	cr_assert(cfg.mem_shared);
	cr_assert_not(cfg.mem_hugepages);
	cr_assert(cfg.mem_thp);
	cr_assert_eq(cfg.pci_segments, 2);
	cr_assert_str_eq(cfg.rng_src, "/dev/urandom");
	cr_assert_eq(cfg.nr_disks, 1);
	cr_assert_str_eq(cfg.disks[0].path, "/opt/kata/share/kata-containers/kata-containers.img");
	cr_assert(cfg.disks[0].readonly);
	cr_assert_not(cfg.disks[0].direct);
	cr_assert_null(cfg.disks[0].id);
	cr_assert_eq(cfg.disks[0].pci_segment, 0);
	cr_assert_eq(cfg.nr_nets, 0);
	cr_assert_eq(cfg.nr_fs, 1);
	cr_assert_str_eq(cfg.fs[0].tag, "kataShared");
	cr_assert_str_eq(cfg.fs[0].socket, "/run/vc/vm/ID/vhost-fs.sock");
	cr_assert_null(cfg.fs[0].id);
	cr_assert_eq(cfg.fs[0].num_queues, 1);
	cr_assert_eq(cfg.fs[0].queue_size, 1024);
	cr_assert_eq(cfg.fs[0].pci_segment, 1);
	cr_assert_eq(cfg.vsock.cid, 3);
	cr_assert_str_eq(cfg.vsock.socket, "/run/vc/vm/ID/clh.sock");
	cr_assert_eq(cfg.serial, SERIAL_OFF);
	cr_assert_eq(cfg.console, CONSOLE_OFF);
}

/* Kata's common options on top of the default: debug (serial Tty), an initrd instead of the
 * image, huge pages (memory.shared stays true), disk rate limits, MSHV's nested false. */
Test(api_config, kata_common_options)
{
	cr_assert_eq(create(
		"{\"payload\": {\"kernel\": \"/k\","
		"  \"cmdline\": \"console=ttyS0,115200n8 panic=1\","
		"  \"initramfs\": \"/opt/kata/share/kata-containers/kata-containers-initrd.img\"},"
		" \"platform\": {\"num_pci_segments\": 2, \"tdx\": false, \"sev_snp\": false},"
		" \"memory\": {\"size\": 2147483648, \"mergeable\": false,"
		"  \"hotplug_method\": \"Acpi\", \"shared\": true, \"hugepages\": true,"
		"  \"prefault\": false, \"thp\": true, \"hotplug_size\": 17179869184},"
		" \"cpus\": {\"boot_vcpus\": 2, \"max_vcpus\": 8, \"kvm_hyperv\": false,"
		"  \"nested\": false},"
		" \"rng\": {\"src\": \"/dev/random\", \"iommu\": false},"
		" \"disks\": [{\"path\": \"/img\", \"readonly\": true, \"image_type\": \"Raw\","
		"  \"rate_limiter_config\": {\"bandwidth\": {\"size\": 1000,"
		"  \"one_time_burst\": 10, \"refill_time\": 1000},"
		"  \"ops\": {\"size\": 100, \"refill_time\": 1000}}}],"
		" \"fs\": [{\"tag\": \"kataShared\", \"socket\": \"/run/vc/vm/ID/vhost-fs.sock\","
		"  \"num_queues\": 1, \"queue_size\": 512, \"pci_segment\": 1}],"
		" \"serial\": {\"mode\": \"Tty\", \"iommu\": false},"
		" \"console\": {\"mode\": \"Off\", \"iommu\": false},"
		" \"vsock\": {\"cid\": 3, \"socket\": \"/run/vc/vm/ID/clh.sock\","
		"  \"iommu\": false},"
		" \"iommu\": false, \"watchdog\": false, \"pvpanic\": false,"
		" \"landlock_enable\": false}"), 0, "%s", err);
	cr_assert_str_eq(cfg.initramfs,
			 "/opt/kata/share/kata-containers/kata-containers-initrd.img");
	cr_assert(cfg.mem_hugepages);
	cr_assert(cfg.mem_shared);
	cr_assert_eq(cfg.serial, SERIAL_TTY);
	cr_assert_eq(cfg.boot_vcpus, 2);
	cr_assert_eq(cfg.fs[0].queue_size, 512, "virtio_fs_queue_size");
}

/*
 * What Kata's options can send that kvmm refuses, each with a 400 naming the field:
 * reclaim_guest_freed_memory (balloon), VM templating (memory.zones backed by a file),
 * cold-plugged VFIO devices, enable_iommu (iommu true everywhere and platform.iommu_segments),
 * and confidential guests (firmware, platform.tdx, a Tty console when debugging).
 */
Test(api_config, kata_options_still_refused)
{
	EXPECT_REFUSALS(
	{ ", \"balloon\": {\"size\": 0, \"deflate_on_oom\": false, \"free_page_reporting\": true}",
	  "balloon: virtio-balloon not supported yet" },
	{ ", \"memory\": {\"size\": 0, \"shared\": false, \"zones\": [{\"id\": \"mem0\","
	  " \"size\": 2147483648, \"file\": \"/run/vc/vm/template/memory\", \"shared\": false}]}",
	  "memory.zones: memory zones not supported yet" },
	{ ", \"devices\": [{\"path\": \"/sys/bus/pci/devices/0000:3b:00.0\", \"iommu\": false}]",
	  "devices: VFIO devices not supported yet" },
	{ ", \"platform\": {\"num_pci_segments\": 2, \"iommu_segments\": [0]}",
	  "platform.iommu_segments: no virtual IOMMU" },
	{ ", \"serial\": {\"mode\": \"Off\", \"iommu\": true}", "serial.iommu: no virtual IOMMU" },
	{ ", \"console\": {\"mode\": \"Off\", \"iommu\": true}",
	  "console.iommu: no virtual IOMMU" },
	{ ", \"vsock\": {\"cid\": 3, \"socket\": \"/s\", \"iommu\": true}",
	  "vsock.iommu: no virtual IOMMU" },
	{ ", \"platform\": {\"num_pci_segments\": 2, \"tdx\": true}",
	  "platform.tdx: confidential guests are not supported" },
	{ ", \"console\": {\"mode\": \"Tty\", \"iommu\": false}",
	  "console.mode: 'Tty' not supported, only Off (no virtio-console yet)" },
	/* virtio-mem: not Kata's default, and never silently taken for ACPI hot-plug. */
	{ ", \"memory\": {\"size\": 0, \"hotplug_method\": \"VirtioMem\"}",
	  "memory.hotplug_method: virtio-mem is not supported; memory is hot-plugged through ACPI "
	  "(hotplug_method \"Acpi\") with vm.resize desired_ram" },
	{ ", \"memory\": {\"size\": 0, \"hotplugged_size\": 134217728}",
	  "memory.hotplugged_size: virtio-mem is not supported; memory is hot-plugged through ACPI "
	  "(hotplug_method \"Acpi\") with vm.resize desired_ram" });
	cr_assert_eq(create("{\"payload\": {\"firmware\": \"/td-shim\"}}"), -EINVAL);
	cr_assert_str_eq(err, "payload.firmware: not supported, use payload.kernel");
}

Test(api_config, minimal_and_defaults)
{
	cr_assert_eq(create_with(""), 0, "%s", err);
	cr_assert_str_eq(cfg.kernel, "/vmlinux");
	cr_assert_null(cfg.initramfs);
	cr_assert_null(cfg.cmdline);
	cr_assert_eq(cfg.boot_vcpus, 1);
	cr_assert_eq(cfg.mem_size, 512ULL << 20);
	cr_assert(cfg.mem_thp, "thp defaults to true, as in Cloud Hypervisor");
	cr_assert_eq(cfg.serial, SERIAL_OFF, "absent serial is Cloud Hypervisor's Null");
	cr_assert_str_eq(cfg.rng_src, "/dev/urandom");
}

Test(api_config, mapped_fields)
{
	cr_assert_eq(create_with(
		", \"serial\": {\"mode\": \"File\", \"file\": \"/tmp/ser\"},"
		" \"memory\": {\"size\": 268435456, \"thp\": false},"
		" \"rng\": {\"src\": \"/dev/random\"}, \"fs\": [], \"vsock\": null,"
		" \"disks\": [{\"path\": \"/a\", \"id\": \"root\", \"serial\": \"SN1\","
		"  \"direct\": true}, {\"path\": \"/b\"}],"
		" \"net\": [{\"tap\": \"tap0\", \"mac\": \"52:54:00:AB:cd:01\", \"id\": \"eth0\","
		"  \"ip\": \"192.168.249.1\", \"mask\": \"255.255.255.0\", \"num_queues\": 2}]"),
		0, "%s", err);
	cr_assert_eq(cfg.serial, SERIAL_FILE);
	cr_assert_str_eq(cfg.serial_path, "/tmp/ser");
	cr_assert_eq(cfg.mem_size, 256ULL << 20);
	cr_assert_not(cfg.mem_thp);
	cr_assert_not(cfg.mem_hugepages);
	cr_assert_not(cfg.mem_shared, "shared defaults to false, as in Cloud Hypervisor");
	cr_assert_eq(create_with(", \"memory\": {\"size\": 2147483648, \"hugepages\": true,"
				 " \"hugepage_size\": 1073741824, \"shared\": true}"), 0, "%s", err);
	cr_assert(cfg.mem_shared);
	cr_assert(cfg.mem_hugepages);
	cr_assert_eq(cfg.mem_hugepage_size, 1ULL << 30);
	cr_assert_str_eq(cfg.rng_src, "/dev/random");
	cr_assert_eq(cfg.nr_disks, 2);
	cr_assert_str_eq(cfg.disks[0].id, "root");
	cr_assert_str_eq(cfg.disks[0].serial, "SN1");
	cr_assert(cfg.disks[0].direct);
	cr_assert_not(cfg.disks[0].readonly);
	cr_assert_str_eq(cfg.disks[1].path, "/b");
	cr_assert_eq(cfg.nr_nets, 1);
	cr_assert_str_eq(cfg.nets[0].tap, "tap0");
	cr_assert_str_eq(cfg.nets[0].id, "eth0");
	cr_assert_eq(cfg.nets[0].fd, -1);
	cr_assert(cfg.nets[0].has_mac);
	cr_assert_arr_eq(cfg.nets[0].mac, ((uint8_t[]){ 0x52, 0x54, 0, 0xab, 0xcd, 1 }), 6);
}

Test(api_config, serial_modes)
{
	cr_assert_eq(create_with(", \"serial\": {\"mode\": \"Null\"}"), 0, "%s", err);
	cr_assert_eq(cfg.serial, SERIAL_OFF);
	cr_assert_eq(create_with(", \"serial\": {\"mode\": \"Off\"}"), 0, "%s", err);
	cr_assert_eq(cfg.serial, SERIAL_OFF);
	cr_assert_eq(create_with(", \"serial\": {\"mode\": \"Tty\"}"), 0, "%s", err);
	cr_assert_eq(cfg.serial, SERIAL_TTY);
}

Test(api_config, vsock_mapped_and_reported)
{
	struct vmm_config c;
	char err[256], *info;
	const char *j = "{\"payload\": {\"kernel\": \"/k\"}, \"vsock\": {\"cid\": 3, "
			"\"socket\": \"/run/kata/vsock.sock\"}}";

	config_init(&c);
	cr_assert_eq(api_vm_config(j, strlen(j), &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.vsock.cid, 3);
	cr_assert_str_eq(c.vsock.socket, "/run/kata/vsock.sock");
	info = api_vm_info(&c, "Created");
	cr_assert_not_null(strstr(info, "\"vsock\":{\"cid\":3,\"socket\":\"/run/kata/vsock.sock\"}"),
			   "%s", info);
	free(info);
	config_free(&c);
}

/* What Kata's clh driver always sends for hot-plug: max_vcpus and memory.hotplug_size are
 * mapped, and vm.info reports hotplug_size back (Kata's ResizeMemory caps a resize at it). */
Test(api_config, kata_hotplug_fields_mapped)
{
	struct vmm_config c;
	char err[256], *info;
	const char *j = "{\"payload\": {\"kernel\": \"/k\"}, \"cpus\": {\"boot_vcpus\": 2, "
			"\"max_vcpus\": 8}, \"memory\": {\"size\": 536870912, "
			"\"hotplug_size\": 2147483648}, \"vsock\": {\"cid\": 3, \"socket\": \"/v\", "
			"\"id\": \"vs0\"}}";

	config_init(&c);
	cr_assert_eq(api_vm_config(j, strlen(j), &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.boot_vcpus, 2);
	cr_assert_eq(c.max_vcpus, 8);
	cr_assert_eq(c.mem_size, 536870912);
	cr_assert_eq(c.mem_hotplug_size, 2147483648ULL);
	cr_assert_str_eq(c.vsock.id, "vs0");
	info = api_vm_info(&c, "Created");
	cr_assert_not_null(strstr(info, "\"hotplug_size\":2147483648"), "%s", info);
	cr_assert_not_null(strstr(info, "\"id\":\"vs0\""), "%s", info);
	free(info);
	config_free(&c);
}

Test(api_config, refusals_name_their_field)
{
	EXPECT_REFUSALS(
	{ ", \"cpus\": {\"boot_vcpus\": 4, \"max_vcpus\": 2}",
	  "cpus.max_vcpus: 2 is below boot_vcpus 4" },
	{ ", \"cpus\": {\"max_vcpus\": 1}", "cpus.boot_vcpus: missing" },
	{ ", \"cpus\": {\"boot_vcpus\": 1, \"kvm_hyperv\": true}",
	  "cpus.kvm_hyperv: not supported yet" },
	{ ", \"cpus\": {\"boot_vcpus\": 1, \"affinity\": [{\"vcpu\": 0, \"host_cpus\": [1]}]}",
	  "cpus.affinity: vCPU pinning not supported yet" },
	{ ", \"cpus\": {\"boot_vcpus\": 1, \"features\": {\"amx\": true}}",
	  "cpus.features.amx: not supported yet" },
	{ ", \"memory\": {\"size\": 1073741824, \"hugepages\": true, \"hugepage_size\": 4096}",
	  "memory: hugepage_size=4096 is neither 2M nor 1G" },
	{ ", \"memory\": {\"size\": 1073741824, \"hugepage_size\": 2097152}",
	  "memory: hugepage_size needs hugepages=on" },
	{ ", \"memory\": {\"size\": 1074790400, \"hugepages\": true}",
	  "memory: size=1074790400 is not a multiple of the huge page size 2097152" },
	{ ", \"memory\": {\"size\": 1073741824, \"mergeable\": true}",
	  "memory.mergeable: not supported yet" },
	{ ", \"memory\": {\"size\": 1073741824, \"zones\": [{\"id\": \"z\", \"size\": 1}]}",
	  "memory.zones: memory zones not supported yet" },
	{ ", \"memory\": {\"shared\": true}", "memory.size: missing" },
	{ ", \"disks\": [{\"path\": \"/a\"}, {\"readonly\": true}]", "disks[1].path: missing" },
	{ ", \"disks\": [{\"path\": \"\"}]", "disks[0].path: missing" },
	{ ", \"disks\": [{\"path\": \"/a\", \"image_type\": \"Qcow2\"}]",
	  "disks[0].image_type: 'Qcow2' not supported, only Raw" },
	{ ", \"disks\": [{\"path\": \"/a\", \"vhost_user\": true}]",
	  "disks[0].vhost_user: vhost-user is only supported for virtio-fs (fs[])" },
	{ ", \"disks\": [{\"path\": \"/a\", \"vhost_socket\": \"/s\"}]",
	  "disks[0].vhost_socket: vhost-user is only supported for virtio-fs (fs[])" },
	{ ", \"disks\": [{\"path\": \"/a\", \"iommu\": true}]",
	  "disks[0].iommu: no virtual IOMMU" },
	{ ", \"disks\": [{\"path\": \"/a\", \"num_queues\": 0}]",
	  "disks[0].num_queues: 0 out of range 1-1024" },
	{ ", \"disks\": [{\"path\": \"/a\", \"serial\": \"123456789012345678901\"}]",
	  "disks[0].serial: longer than 20 bytes" },
	{ ", \"disks\": [{\"path\": \"/a\", \"id\": \"x\"}, {\"path\": \"/b\", \"id\": \"x\"}]",
	  "device id 'x' used twice" },
	{ ", \"disks\": [{\"path\": \"/a\", \"id\": \"x\"}], \"net\": [{\"tap\": \"t0\", \"id\": \"x\"}]",
	  "device id 'x' used twice" },
	{ ", \"net\": [{\"tap\": \"t0\", \"id\": \"n\"}, {\"tap\": \"t1\", \"id\": \"n\"}]",
	  "device id 'n' used twice" },
	{ ", \"disks\": [{\"path\": \"/1\"}, {\"path\": \"/2\"}, {\"path\": \"/3\"},"
	  " {\"path\": \"/4\"}, {\"path\": \"/5\"}, {\"path\": \"/6\"}, {\"path\": \"/7\"},"
	  " {\"path\": \"/8\"}, {\"path\": \"/9\"}]", "disks: at most 8 disks" },
	{ ", \"net\": [{\"mac\": \"52:54:00:00:00:01\"}]",
	  "net[0].tap: missing (TAP fds can only be passed with vm.add-net)" },
	{ ", \"net\": [{\"tap\": \"t0\", \"fd\": [3]}]",
	  "net[0].fd: TAP fds are passed with vm.add-net as SCM_RIGHTS, not in the body" },
	{ ", \"net\": [{\"tap\": \"t0\", \"fds\": [3]}]",
	  "net[0].fds: TAP fds are passed with vm.add-net as SCM_RIGHTS, not in the body" },
	{ ", \"net\": [{\"tap\": \"t0\", \"num_queues\": 4}]",
	  "net[0].num_queues: only one queue pair (num_queues 2) is supported" },
	{ ", \"net\": [{\"tap\": \"t0\", \"vhost_user\": true}]",
	  "net[0].vhost_user: vhost-user is only supported for virtio-fs (fs[])" },
	{ ", \"net\": [{\"tap\": \"t0\", \"offload_tso\": false}]",
	  "net[0].offload_tso: kvmm always offers this offload" },
	{ ", \"net\": [{\"tap\": \"t0\", \"mac\": \"52:54:00:00:00\"}]",
	  "net[0].mac: '52:54:00:00:00' is not a MAC address" },
	{ ", \"net\": [{\"tap\": \"t0\", \"mac\": \"01:00:5e:00:00:01\"}]",
	  "net[0].mac: '01:00:5e:00:00:01' is a multicast address" },
	{ ", \"net\": [{\"tap\": \"a-very-long-name\"}]",
	  "net[0].tap: 'a-very-long-name' is not an interface name (1-15 bytes)" },
	{ ", \"net\": [{\"tap\": \"t0\", \"host_mac\": \"52:54:00:00:00:02\"}]",
	  "net[0].host_mac: not supported yet" },
	{ ", \"rng\": {\"iommu\": false}", "rng.src: missing" },
	{ ", \"rng\": {\"src\": \"/dev/urandom\", \"iommu\": true}",
	  "rng.iommu: no virtual IOMMU" },
	{ ", \"serial\": {\"mode\": \"Pty\"}",
	  "serial.mode: 'Pty' not supported (Tty, File, Null or Off)" },
	{ ", \"serial\": {\"mode\": \"File\"}", "serial.file: missing (serial.mode is File)" },
	{ ", \"serial\": {\"file\": \"/x\"}", "serial.mode: missing" },
	{ ", \"console\": {\"mode\": \"Tty\"}",
	  "console.mode: 'Tty' not supported, only Off (no virtio-console yet)" },
	{ ", \"debug_console\": {\"mode\": \"File\", \"file\": \"/x\"}",
	  "debug_console.mode: 'File' not supported, only Off" },
	{ ", \"vsock\": {\"cid\": 2, \"socket\": \"/run/vsock.sock\"}",
	  "vsock.cid: 2 out of range 3-4294967294" },
	{ ", \"vsock\": {\"cid\": 3}", "vsock.socket: missing" },
	{ ", \"balloon\": {\"size\": 0, \"free_page_reporting\": true}",
	  "balloon: virtio-balloon not supported yet" },
	{ ", \"pmem\": [{\"file\": \"/p\"}]", "pmem: virtio-pmem not supported yet" },
	{ ", \"devices\": [{\"path\": \"/sys/bus/pci/devices/0000:00:01.0\"}]",
	  "devices: VFIO devices not supported yet" },
	{ ", \"vdpa\": [{\"path\": \"/dev/vhost-vdpa-0\", \"num_queues\": 1}]",
	  "vdpa: vDPA devices not supported yet" },
	{ ", \"generic_vhost_user\": [{\"socket\": \"/s\", \"queue_sizes\": [256],"
	  " \"device_type\": 1}]",
	  "generic_vhost_user: vhost-user is only supported for virtio-fs (fs[])" },
	{ ", \"user_devices\": [{\"socket\": \"/s\"}]",
	  "user_devices: vfio-user not supported yet" },
	{ ", \"numa\": [{\"guest_numa_id\": 0}]", "numa: NUMA not supported yet" },
	{ ", \"tpm\": {\"socket\": \"/s\"}", "tpm: not supported yet" },
	{ ", \"rtc\": {}", "rtc: not supported yet" },
	{ ", \"iommu\": true", "iommu: no virtual IOMMU" },
	{ ", \"watchdog\": true", "watchdog: not supported yet" },
	{ ", \"landlock_enable\": true", "landlock_enable: not supported yet" },
	{ ", \"platform\": {\"num_pci_segments\": 2, \"tdx\": true}",
	  "platform.tdx: confidential guests are not supported" },
	{ ", \"platform\": {\"iommu_segments\": [0]}",
	  "platform.iommu_segments: no virtual IOMMU" });
}

Test(api_config, payload_refusals)
{
	cr_assert_eq(create("{\"payload\": {\"firmware\": \"/fw\", \"kernel\": \"/k\"}}"), -EINVAL);
	cr_assert_str_eq(err, "payload.firmware: not supported, use payload.kernel");
	cr_assert_eq(create("{\"payload\": {\"igvm\": \"/i\"}}"), -EINVAL);
	cr_assert_str_eq(err, "payload.igvm: confidential guests are not supported");
	cr_assert_eq(create("{\"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1}}"), -EINVAL);
	cr_assert_str_eq(err, "payload: missing");
	cr_assert_eq(create("{\"payload\": {\"cmdline\": \"quiet\"}}"), -EINVAL);
	cr_assert_str_eq(err, "payload.kernel: missing");
	cr_assert_eq(create("{\"payload\": {\"kernel\": \"\"}}"), -EINVAL);
	cr_assert_str_eq(err, "payload.kernel: missing");
	cr_assert_eq(create("{\"payload\": {\"kernel\": \"/k\", \"initramfs\": \"\"}}"), -EINVAL);
	cr_assert_str_eq(err, "payload.initramfs: empty");
	cr_assert_eq(create("{\"payload\": null}"), -EINVAL);
	cr_assert_str_eq(err, "payload: missing");
}

Test(api_config, unknown_fields_at_every_level)
{
	EXPECT_REFUSALS(
	{ ", \"foo\": 1", "unknown field 'foo'" },
	{ ", \"cpus\": {\"boot_vcpus\": 1, \"bar\": true}", "unknown field 'cpus.bar'" },
	{ ", \"cpus\": {\"boot_vcpus\": 1, \"topology\": {\"threads\": 1}}",
	  "unknown field 'cpus.topology.threads'" },
	{ ", \"disks\": [{\"path\": \"/a\"}, {\"path\": \"/b\", \"cache\": \"none\"}]",
	  "unknown field 'disks[1].cache'" },
	{ ", \"disks\": [{\"path\": \"/a\", \"rate_limiter_config\": {\"ops\": {\"size\": 1,"
	  " \"refill_time\": 1, \"burst\": 2}}}]",
	  "unknown field 'disks[0].rate_limiter_config.ops.burst'" },
	{ ", \"net\": [{\"tap\": \"t0\", \"queues\": 2}]", "unknown field 'net[0].queues'" },
	{ ", \"platform\": {\"smbios\": {}}", "unknown field 'platform.smbios'" },
	{ ", \"serial\": {\"mode\": \"Tty\", \"path\": \"/x\"}", "unknown field 'serial.path'" },
	{ ", \"pci_segments\": [{\"pci_segment\": 1, \"x\": 0}]",
	  "unknown field 'pci_segments[0].x'" });
	cr_assert_eq(create("{\"payload\": {\"kernel\": \"/k\", \"dtb\": \"/d\"}}"), -EINVAL);
	cr_assert_str_eq(err, "unknown field 'payload.dtb'");
}

Test(api_config, wrong_types_and_ranges)
{
	EXPECT_REFUSALS(
	{ ", \"cpus\": {\"boot_vcpus\": \"2\"}",
	  "cpus.boot_vcpus: expected a non-negative integer" },
	{ ", \"cpus\": {\"boot_vcpus\": 2.0}", "cpus.boot_vcpus: expected a non-negative integer" },
	{ ", \"cpus\": {\"boot_vcpus\": -1}", "cpus.boot_vcpus: expected a non-negative integer" },
	{ ", \"cpus\": {\"boot_vcpus\": 0}", "cpus.boot_vcpus: 0 out of range 1-64" },
	{ ", \"cpus\": {\"boot_vcpus\": 4294967297}",
	  "cpus.boot_vcpus: 4294967297 out of range 1-64" },
	{ ", \"cpus\": {\"boot_vcpus\": true}",
	  "cpus.boot_vcpus: expected a non-negative integer" },
	{ ", \"memory\": {\"size\": 1e9}", "memory.size: expected a non-negative integer" },
	{ ", \"memory\": {\"size\": -536870912}", "memory.size: expected a non-negative integer" },
	{ ", \"memory\": {\"size\": 9223372036854771712}",
	  "memory: size=9223372036854771712 above 1T" },
	{ ", \"memory\": {\"size\": 1000}",
	  "memory: size=1000 must be at least 16M and a multiple of 4K" },
	{ ", \"memory\": {\"size\": 1073741824, \"shared\": 1}",
	  "memory.shared: expected true or false" },
	{ ", \"cpus\": [1]", "cpus: expected an object" },
	{ ", \"disks\": {\"path\": \"/a\"}", "disks: expected an array" },
	{ ", \"disks\": [\"/a\"]", "disks[0]: expected an object" },
	{ ", \"disks\": [{\"path\": 7}]", "disks[0].path: expected a string" },
	{ ", \"disks\": [{\"path\": \"/a\", \"readonly\": \"yes\"}]",
	  "disks[0].readonly: expected true or false" },
	{ ", \"fs\": {}", "fs: expected an array" },
	{ ", \"platform\": {\"oem_strings\": [1]}", "platform.oem_strings[0]: expected a string" },
	{ ", \"disks\": [{\"path\": \"/a\", \"queue_affinity\": [{\"queue_index\": 0,"
	  " \"host_cpus\": [-1]}]}]",
	  "disks[0].queue_affinity[0].host_cpus[0]: expected a non-negative integer" });
}

Test(api_config, invalid_json)
{
	static const char *const bad[] = {
		"", "{", "[]", "\"str\"", "{\"payload\": {\"kernel\": \"/k\"}} x",
		"{\"payload\": {\"kernel\": \"/k\"}, \"payload\": {\"kernel\": \"/j\"}}",
		"{\"payload\": {\"kernel\": \"/k\"}, \"memory\": {\"size\": 99999999999999999999}}",
		"{\"payload\": {\"kernel\": \"/k\\u0000x\"}}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(create(bad[i]), -EINVAL, "accepted: %s", bad[i]);
		cr_expect(!strncmp(err, "invalid JSON: ", 14), "%s -> %s", bad[i], err);
	}
	cr_assert(strstr(err, "JSON_ALLOW_NUL"), "%s", err);
}

Test(api_config, body_is_length_delimited)
{
	static const char buf[] = "{\"payload\": {\"kernel\": \"/k\"}}GARBAGE";

	cr_assert_eq(api_vm_config(buf, sizeof(buf) - 1 - 7, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.kernel, "/k");
}

Test(api_config, harmless_fields_are_ignored)
{
	cr_assert_eq(create_with(
		", \"pci_segments\": [{\"pci_segment\": 1}],"
		" \"pvpanic\": true, \"landlock_rules\": [],"
		" \"platform\": {\"num_pci_segments\": 2,"
		" \"uuid\": \"u\", \"oem_strings\": [\"a\"]},"
		" \"memory\": {\"size\": 268435456, \"shared\": true, \"thp\": false,"
		"  \"hotplug_size\": 0},"
		" \"cpus\": {\"boot_vcpus\": 3, \"max_vcpus\": 3, \"core_scheduling\": \"Vm\","
		"  \"max_phys_bits\": 46, \"topology\": {\"threads_per_core\": 1,"
		"  \"cores_per_die\": 3, \"dies_per_package\": 1, \"packages\": 1}},"
		" \"disks\": [{\"path\": \"/a\", \"num_queues\": 4, \"queue_size\": 1024,"
		"  \"pci_segment\": 1,"
		" \"lock_granularity\": \"Full\"}],"
		" \"net\": [{\"tap\": \"t0\", \"mtu\": 1400, \"queue_size\": 1024,"
		"  \"vhost_mode\": \"Client\", \"offload_csum\": true}],"
		" \"console\": {\"mode\": \"Off\", \"file\": \"/x\"},"
		" \"debug_console\": {\"mode\": \"Off\"}"),
		0, "%s", err);
	cr_assert_eq(cfg.boot_vcpus, 3);
	cr_assert_eq(cfg.mem_size, 256ULL << 20);
	cr_assert_eq(cfg.nr_disks, 1);
	cr_assert_eq(cfg.nr_nets, 1);
}

Test(api_config, vm_info_parses_back)
{
	json_error_t e;
	json_t *info, *c;
	char *s;

	cr_assert_eq(create_with(
		", \"cpus\": {\"boot_vcpus\": 2, \"max_vcpus\": 2},"
		" \"memory\": {\"size\": 1073741824},"
		" \"disks\": [{\"path\": \"/img\", \"readonly\": true, \"serial\": \"S\"}],"
		" \"net\": [{\"tap\": \"t0\", \"mac\": \"52:54:00:00:00:01\"}, {\"tap\": \"t1\"}],"
		" \"serial\": {\"mode\": \"File\", \"file\": \"/tmp/s\"}"), 0, "%s", err);
	s = api_vm_info(&cfg, "Created");
	cr_assert_not_null(s);
	info = json_loads(s, 0, &e);
	cr_assert_not_null(info, "%s: %s", s, e.text);
	c = json_object_get(info, "config");
	cr_assert_str_eq(json_string_value(json_object_get(info, "state")), "Created");
	cr_assert_eq(json_integer_value(json_object_get(info, "memory_actual_size")), 1LL << 30);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "payload"),
							   "kernel")), "/vmlinux");
	cr_assert_null(json_object_get(json_object_get(c, "payload"), "initramfs"));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(c, "cpus"),
							"boot_vcpus")), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(c, "cpus"),
							"max_vcpus")), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(c, "memory"),
							"size")), 1LL << 30);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(c, "disks"), 0), "path")), "/img");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(c, "disks"), 0), "id")), "_disk0");
	cr_assert(json_is_true(json_object_get(json_array_get(json_object_get(c, "disks"), 0),
					       "readonly")));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(c, "net"), 0), "mac")), "52:54:00:00:00:01");
	cr_assert_null(json_object_get(json_array_get(json_object_get(c, "net"), 1), "mac"));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(c, "net"), 1), "id")), "_net2");	/* _disk0, _net1, _net2 */
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "rng"), "src")),
			 "/dev/urandom");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "serial"), "file")),
			 "/tmp/s");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "console"), "mode")),
			 "Off");
	json_decref(info);
	free(s);
}

/* The config that vm.info echoes is itself a VmConfig that vm.create accepts unchanged. */
Test(api_config, vm_info_config_round_trips)
{
	struct vmm_config again;
	json_t *info;
	char *s, *c;

	cr_assert_eq(create(kata_body), 0, "%s", err);
	s = api_vm_info(&cfg, "Running");
	cr_assert_not_null(s);
	info = json_loads(s, 0, NULL);
	cr_assert_not_null(info);
	c = json_dumps(json_object_get(info, "config"), JSON_COMPACT);
	config_init(&again);
	cr_assert_eq(api_vm_config(c, strlen(c), &again, err, sizeof(err)), 0, "%s: %s", c, err);
	cr_assert_str_eq(again.kernel, cfg.kernel);
	cr_assert_str_eq(again.cmdline, cfg.cmdline);
	cr_assert_null(again.initramfs);
	cr_assert_eq(again.boot_vcpus, cfg.boot_vcpus);
	cr_assert_eq(again.mem_size, cfg.mem_size);
	cr_assert(again.mem_shared, "fs[] comes back only with memory.shared");
	cr_assert_eq(again.serial, cfg.serial);
	cr_assert_eq(again.pci_segments, 2);
	cr_assert_eq(again.nr_disks, 1);
	cr_assert_str_eq(again.disks[0].path, cfg.disks[0].path);
	cr_assert_eq(again.disks[0].readonly, cfg.disks[0].readonly);
	cr_assert_eq(again.nr_fs, 1);
	cr_assert_str_eq(again.fs[0].tag, "kataShared");
	cr_assert_str_eq(again.fs[0].socket, cfg.fs[0].socket);
	cr_assert_str_eq(again.fs[0].id, "_fs1", "the default id, now explicit");
	cr_assert_eq(again.fs[0].num_queues, 1);
	cr_assert_eq(again.fs[0].queue_size, 1024);
	cr_assert_eq(again.fs[0].pci_segment, 1);
	cr_assert_eq(again.vsock.cid, 3);
	config_free(&again);
	free(c);
	json_decref(info);
	free(s);
}

Test(api_config, ping_json)
{
	char *s = api_ping_json("kvmm v0.1.0");
	json_t *p, *f;

	cr_assert_not_null(s);
	p = json_loads(s, 0, NULL);
	cr_assert_not_null(p, "%s", s);
	cr_assert_str_eq(json_string_value(json_object_get(p, "version")), "kvmm v0.1.0");
	cr_assert_str_eq(json_string_value(json_object_get(p, "build_version")), "kvmm v0.1.0");
	cr_assert_eq(json_integer_value(json_object_get(p, "pid")), getpid());
	f = json_object_get(p, "features");
	cr_assert(json_is_array(f) && json_array_size(f) == 0, "%s", s);
	json_decref(p);
	free(s);
}

static int add_disk(const char *json, struct disk_config *d)
{
	return api_disk_config(json, strlen(json), d, err, sizeof(err));
}

static int add_net(const char *json, struct net_config *n)
{
	return api_net_config(json, strlen(json), n, err, sizeof(err));
}

Test(api_config, add_disk_body)
{
	struct disk_config d;

	/* As Kata's hot-plug sends it: one queue per vCPU, queue size 1024. */
	cr_assert_eq(add_disk("{\"path\": \"/dev/dm-3\", \"readonly\": false, \"direct\": true,"
			      " \"image_type\": \"Raw\", \"vhost_user\": false, \"num_queues\": 2,"
			      " \"queue_size\": 1024, \"iommu\": false, \"id\": \"d1\","
			      " \"serial\": \"ABC\"}", &d), 0, "%s", err);
	cr_assert_str_eq(d.path, "/dev/dm-3");
	cr_assert_str_eq(d.id, "d1");
	cr_assert_str_eq(d.serial, "ABC");
	cr_assert(d.direct);
	cr_assert_not(d.readonly);
	api_disk_config_free(&d);
	cr_assert_null(d.path);

	cr_assert_eq(add_disk("{\"readonly\": true}", &d), -EINVAL);
	cr_assert_str_eq(err, "path: missing");
	cr_assert_null(d.path);
	cr_assert_eq(add_disk("{\"path\": \"/a\", \"image_type\": \"Vhdx\"}", &d), -EINVAL);
	cr_assert_str_eq(err, "image_type: 'Vhdx' not supported, only Raw");
	cr_assert_eq(add_disk("{\"path\": \"/a\", \"foo\": 1}", &d), -EINVAL);
	cr_assert_str_eq(err, "unknown field 'foo'");
	cr_assert_eq(add_disk("{\"path\": \"/a\", \"id\": \"\"}", &d), -EINVAL);
	cr_assert_str_eq(err, "id: empty");
	cr_assert_eq(add_disk("[{\"path\": \"/a\"}]", &d), -EINVAL);
	cr_assert_str_eq(err, "invalid JSON: expected an object");
}

Test(api_config, add_net_body)
{
	struct net_config n;

	/* What Kata's vmAddNetPut writes (NewNetConfig defaults and the MAC); fds go aside. */
	cr_assert_eq(add_net("{\"ip\": \"192.168.249.1\", \"mask\": \"255.255.255.0\","
			     " \"mac\": \"02:42:ac:11:00:02\", \"iommu\": false, \"num_queues\": 2,"
			     " \"queue_size\": 256, \"vhost_user\": false,"
			     " \"vhost_mode\": \"Client\"}",
			     &n), 0, "%s", err);
	cr_assert_null(n.tap);
	cr_assert_null(n.id);
	cr_assert_eq(n.fd, -1);
	cr_assert(n.has_mac);
	cr_assert_arr_eq(n.mac, ((uint8_t[]){ 2, 0x42, 0xac, 0x11, 0, 2 }), 6);
	api_net_config_free(&n);

	cr_assert_eq(add_net("{\"tap\": \"tap7\", \"id\": \"eth1\"}", &n), 0, "%s", err);
	cr_assert_str_eq(n.tap, "tap7");
	cr_assert_str_eq(n.id, "eth1");
	cr_assert_not(n.has_mac);
	api_net_config_free(&n);
	cr_assert_eq(n.fd, -1);

	cr_assert_eq(add_net("{\"fd\": [5, 6]}", &n), -EINVAL);
	cr_assert_str_eq(err,
			 "fd: TAP fds are passed with vm.add-net as SCM_RIGHTS, not in the body");
	cr_assert_eq(n.fd, -1);
	cr_assert_eq(add_net("{\"mac\": \"nope\"}", &n), -EINVAL);
	cr_assert_str_eq(err, "mac: 'nope' is not a MAC address");
	cr_assert_eq(add_net("{\"num_queues\": 1}", &n), -EINVAL);
	cr_assert_str_eq(err, "num_queues: only one queue pair (num_queues 2) is supported");
	cr_assert_eq(add_net("{\"tap\": \"t\", \"x\": {}}", &n), -EINVAL);
	cr_assert_str_eq(err, "unknown field 'x'");
}

/* A short ERR buffer is cut, never overrun. */
Test(api_config, short_error_buffer)
{
	char small[12];

	memset(small, 'X', sizeof(small));
	cr_assert_eq(api_vm_config("{}", 2, &cfg, small, 8), -EINVAL);
	cr_assert_str_eq(small, "payload");
	cr_assert_eq(small[8], 'X');
}

/* platform.num_pci_segments and each disk's and NIC's pci_segment are honoured. */
Test(api_config, pci_segments)
{
	cr_assert_eq(create_with(", \"platform\": {\"num_pci_segments\": 2},"
				 " \"disks\": [{\"path\": \"/a\"}, {\"path\": \"/b\", \"pci_segment\": 1}],"
				 " \"net\": [{\"tap\": \"t0\", \"pci_segment\": 1}]"), 0, "%s", err);
	cr_assert_eq(cfg.pci_segments, 2);
	cr_assert_eq(cfg.disks[0].pci_segment, 0);
	cr_assert_eq(cfg.disks[1].pci_segment, 1);
	cr_assert_eq(cfg.nets[0].pci_segment, 1);
}

Test(api_config, pci_segment_beyond_the_vm)
{
	cr_assert_neq(create_with(", \"disks\": [{\"path\": \"/a\", \"pci_segment\": 1}]"), 0);
	cr_assert(strstr(err, "pci_segment 1") && strstr(err, "num_pci_segments"), "%s", err);
	config_free(&cfg);
	config_init(&cfg);
	cr_assert_neq(create_with(", \"platform\": {\"num_pci_segments\": 17}"), 0);
	cr_assert(strstr(err, "num_pci_segments"), "%s", err);
	config_free(&cfg);
	config_init(&cfg);
	cr_assert_neq(create_with(", \"platform\": {\"num_pci_segments\": 0}"), 0);
	cr_assert(strstr(err, "num_pci_segments"), "%s", err);
}

/* Memory that virtio-fs accepts (memory.shared, Cloud Hypervisor's rule). */
#define SHARED ", \"memory\": {\"size\": 536870912, \"shared\": true}"

/* fs[], field by field; num_queues and queue_size default as in Cloud Hypervisor. */
Test(api_config, fs_mapped)
{
	cr_assert_eq(create_with(SHARED ", \"platform\": {\"num_pci_segments\": 2},"
		" \"fs\": [{\"tag\": \"kataShared\", \"socket\": \"/run/vfs.sock\","
		"  \"num_queues\": 2, \"queue_size\": 256, \"id\": \"share\", \"pci_segment\": 1,"
		"  \"pci_device_id\": 9},"
		" {\"tag\": \"123456789012345678901234567890123456\","
		"  \"socket\": \"/run/vfs2.sock\", \"id\": null}]"), 0, "%s", err);
	cr_assert_eq(cfg.nr_fs, 2);
	cr_assert_str_eq(cfg.fs[0].tag, "kataShared");
	cr_assert_str_eq(cfg.fs[0].socket, "/run/vfs.sock");
	cr_assert_str_eq(cfg.fs[0].id, "share");
	cr_assert_eq(cfg.fs[0].num_queues, 2);
	cr_assert_eq(cfg.fs[0].queue_size, 256);
	cr_assert_eq(cfg.fs[0].pci_segment, 1);
	cr_assert_eq(strlen(cfg.fs[1].tag), KVMM_FS_TAG_MAX, "a 36-byte tag fits");
	cr_assert_null(cfg.fs[1].id);
	cr_assert_eq(cfg.fs[1].num_queues, 1);
	cr_assert_eq(cfg.fs[1].queue_size, 1024);
	cr_assert_eq(cfg.fs[1].pci_segment, 0);
}

Test(api_config, fs_refusals)
{
	EXPECT_REFUSALS(
	{ SHARED ", \"fs\": [{\"tag\": \"1234567890123456789012345678901234567\","
	  " \"socket\": \"/s\"}]",
	  "fs[0].tag: '1234567890123456789012345678901234567' is 37 bytes, virtio-fs allows 1-36" },
	{ SHARED ", \"fs\": [{\"socket\": \"/s\"}]",
	  "fs[0].tag: missing (the name the guest mounts)" },
	{ SHARED ", \"fs\": [{\"tag\": \"\", \"socket\": \"/s\"}]",
	  "fs[0].tag: missing (the name the guest mounts)" },
	{ SHARED ", \"fs\": [{\"tag\": 7, \"socket\": \"/s\"}]", "fs[0].tag: expected a string" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\"}]",
	  "fs[0].socket: missing (the vhost-user back-end's, e.g. virtiofsd's)" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"\"}]",
	  "fs[0].socket: missing (the vhost-user back-end's, e.g. virtiofsd's)" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"queue_size\": 1000}]",
	  "fs[0].queue_size: 1000 is not a power of two" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"queue_size\": 2048}]",
	  "fs[0].queue_size: 2048 out of range 1-1024" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"queue_size\": 0}]",
	  "fs[0].queue_size: 0 out of range 1-1024" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"num_queues\": 8}]",
	  "fs[0].num_queues: 8 out of range 1-7" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"num_queues\": 0}]",
	  "fs[0].num_queues: 0 out of range 1-7" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"pci_segment\": 1}]",
	  "fs[0]: pci_segment 1, but the VM has 1 PCI segment(s) (platform.num_pci_segments)" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"pci_segment\": 16}]",
	  "fs[0].pci_segment: 16 out of range 0-15" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"id\": \"\"}]",
	  "fs[0].id: empty" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"dax\": false}]",
	  "unknown field 'fs[0].dax'" },
	{ SHARED ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\"}, {\"socket\": \"/s\"}]",
	  "fs[1].tag: missing (the name the guest mounts)" },
	{ SHARED ", \"fs\": [{\"tag\": \"a\", \"socket\": \"/s\"},"
	  " {\"tag\": \"b\", \"socket\": \"/s\"},"
	  " {\"tag\": \"c\", \"socket\": \"/s\"}, {\"tag\": \"d\", \"socket\": \"/s\"},"
	  " {\"tag\": \"e\", \"socket\": \"/s\"}]", "fs: at most 4 virtio-fs devices" },
	{ SHARED ", \"disks\": [{\"path\": \"/a\", \"id\": \"x\"}],"
	  " \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"id\": \"x\"}]",
	  "device id 'x' used twice" },
	{ ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\"}]",
	  "fs: virtio-fs needs memory.shared=true (--memory shared=on) or hugepages: the "
	  "vhost-user back-end maps guest RAM" },
	{ ", \"memory\": {\"size\": 536870912, \"shared\": false},"
	  " \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\"}]",
	  "fs: virtio-fs needs memory.shared=true (--memory shared=on) or hugepages: the "
	  "vhost-user back-end maps guest RAM" });
}

/* Huge pages are shared memory already: Cloud Hypervisor takes fs[] with them alone. */
Test(api_config, fs_with_hugepages_needs_no_shared)
{
	cr_assert_eq(create_with(", \"memory\": {\"size\": 536870912, \"hugepages\": true},"
				 " \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\"}]"), 0, "%s", err);
	cr_assert_not(cfg.mem_shared);
	cr_assert_eq(cfg.nr_fs, 1);
}

/* vm.info: fs[] with ids from the one counter (disks, NICs, fs), and memory.shared. */
Test(api_config, fs_in_vm_info)
{
	json_t *info, *c, *fs;
	char *s;

	cr_assert_eq(create_with(SHARED ", \"disks\": [{\"path\": \"/img\"}],"
		" \"net\": [{\"tap\": \"t0\", \"id\": \"_fs2\"}],"
		" \"fs\": [{\"tag\": \"a\", \"socket\": \"/sa\"},"
		"  {\"tag\": \"b\", \"socket\": \"/sb\", \"id\": \"mine\"},"
		"  {\"tag\": \"c\", \"socket\": \"/sc\", \"queue_size\": 64}]"),
		0, "%s", err);
	s = api_vm_info(&cfg, "Created");
	cr_assert_not_null(s);
	info = json_loads(s, 0, NULL);
	cr_assert_not_null(info, "%s", s);
	c = json_object_get(info, "config");
	cr_assert(json_is_true(json_object_get(json_object_get(c, "memory"), "shared")), "%s", s);
	fs = json_object_get(c, "fs");
	cr_assert_eq(json_array_size(fs), 3, "%s", s);
	/* _disk0, the NIC took "_fs2" explicitly: _fs1, mine, then _fs2 is skipped for _fs3. */
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 0), "id")), "_fs1",
			 "%s", s);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 1), "id")), "mine");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 2), "id")), "_fs3");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 0), "tag")), "a");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 0), "socket")),
			 "/sa");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(fs, 0), "num_queues")), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(fs, 2), "queue_size")), 64);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(fs, 0), "pci_segment")), 0);
	json_decref(info);
	free(s);
}

static int add_fs(const char *json, struct fs_config *f)
{
	return api_fs_config(json, strlen(json), f, err, sizeof(err));
}

Test(api_config, add_fs_body)
{
	struct fs_config f;

	/* As Kata's Rust runtime sends it (its FsConfig writes "id": null). */
	cr_assert_eq(add_fs("{\"tag\": \"kataShared\", \"socket\": \"/run/kata/ID/vhost-fs.sock\","
			    " \"num_queues\": 1, \"queue_size\": 1024, \"id\": null,"
			    " \"pci_segment\": 0}", &f), 0, "%s", err);
	cr_assert_str_eq(f.tag, "kataShared");
	cr_assert_str_eq(f.socket, "/run/kata/ID/vhost-fs.sock");
	cr_assert_null(f.id);
	cr_assert_eq(f.num_queues, 1);
	cr_assert_eq(f.queue_size, 1024);
	api_fs_config_free(&f);
	cr_assert_null(f.tag);

	cr_assert_eq(add_fs("{\"tag\": \"t\", \"socket\": \"/s\", \"id\": \"f\"}", &f), 0, "%s",
		     err);
	cr_assert_str_eq(f.id, "f");
	cr_assert_eq(f.num_queues, 1);
	cr_assert_eq(f.queue_size, 1024);
	api_fs_config_free(&f);

	cr_assert_eq(add_fs("{\"socket\": \"/s\"}", &f), -EINVAL);
	cr_assert_str_eq(err, "tag: missing (the name the guest mounts)");
	cr_assert_null(f.tag);
	cr_assert_eq(add_fs("{\"tag\": \"t\", \"socket\": \"/s\", \"queue_size\": 3}", &f),
		     -EINVAL);
	cr_assert_str_eq(err, "queue_size: 3 is not a power of two");
	cr_assert_null(f.tag);
	cr_assert_eq(add_fs("{\"tag\": \"t\", \"socket\": \"/s\", \"num_queues\": 9}", &f),
		     -EINVAL);
	cr_assert_str_eq(err, "num_queues: 9 out of range 1-7");
	cr_assert_eq(add_fs("{\"tag\": \"t\", \"socket\": \"/s\", \"cache_size\": 0}", &f),
		     -EINVAL);
	cr_assert_str_eq(err, "unknown field 'cache_size'");
}

/* One request to the API's VM side as the server hands it over: the status, and the body in
 * *OUT (the caller frees it) unless OUT is NULL. */
static int handle(struct api_vmm *v, enum http_method m, const char *ep, const char *body,
		  char **out)
{
	struct http_request *req = calloc(1, sizeof(*req));
	struct api_reply rep = { 0 };
	char path[64];
	bool quit = false;

	cr_assert_not_null(req);
	snprintf(path, sizeof(path), "/api/v1/%s", ep);
	req->method = m;
	req->method_name = m == HTTP_GET ? "GET" : "PUT";
	req->path = path;
	req->body = strdup(body ? body : "");
	req->body_len = strlen(req->body);
	for (unsigned int i = 0; i < HTTP_MAX_FDS; i++)
		req->fds[i] = -1;
	api_vmm_handle(v, req, &rep, &quit);
	free(req->body);
	free(req);
	if (out)
		*out = rep.body;
	else
		free(rep.body);
	return rep.status;
}

#define FS_BODY(tag, more) "{\"tag\": \"" tag "\", \"socket\": \"/run/vfs.sock\"" more "}"

/* vm.add-fs: cold-plug into a Created VM under vm.add-disk's rules and answers. */
Test(api_config, vm_add_fs)
{
	struct api_vmm *v;
	json_t *info, *fs;
	char *body;
	int wake;

	v = api_vmm_new(&wake);
	cr_assert_not_null(v);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-fs", FS_BODY("t", ""), &body), 404);
	cr_assert(strstr(body, "vm.create"), "%s", body);
	free(body);

	/* Guest RAM that is not shared: refused, and the VM's config keeps no trace of it. */
	cr_assert_eq(handle(v, HTTP_PUT, "vm.create", "{\"payload\": {\"kernel\": \"/k\"}}", NULL),
		     204);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-fs", FS_BODY("t", ""), &body), 400);
	cr_assert(strstr(body, "vm.add-fs: fs: virtio-fs needs memory.shared=true"), "%s", body);
	free(body);
	cr_assert_eq(v->cfg.nr_fs, 0);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.delete", NULL, NULL), 204);

	cr_assert_eq(handle(v, HTTP_PUT, "vm.create", "{\"payload\": {\"kernel\": \"/k\"},"
			    " \"memory\": {\"size\": 536870912, \"shared\": true},"
			    " \"disks\": [{\"path\": \"/img\", \"id\": \"root\"}]}", NULL), 204);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-fs", FS_BODY("kataShared", ", \"num_queues\": 1,"
			    " \"queue_size\": 1024"), &body), 204);
	cr_assert_null(body);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-fs", FS_BODY("t2", ", \"id\": \"root\""), &body),
		     409);
	cr_assert(strstr(body, "vm.add-fs: device id 'root' used twice"), "%s", body);
	free(body);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-fs", FS_BODY("t2", ", \"queue_size\": 100"),
			    &body), 400);
	cr_assert(strstr(body, "vm.add-fs: queue_size: 100 is not a power of two"), "%s", body);
	free(body);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-fs", "{\"tag\": \"t\"", &body), 400);
	cr_assert(strstr(body, "invalid JSON"), "%s", body);
	free(body);
	cr_assert_eq(v->cfg.nr_fs, 1);

	cr_assert_eq(handle(v, HTTP_GET, "vm.info", NULL, &body), 200);
	info = json_loads(body, 0, NULL);
	cr_assert_not_null(info, "%s", body);
	fs = json_object_get(json_object_get(info, "config"), "fs");
	cr_assert_eq(json_array_size(fs), 1, "%s", body);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 0), "tag")),
			 "kataShared");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 0), "id")), "_fs0",
			 "the disk is named 'root': the counter starts at 0");
	json_decref(info);
	free(body);

	for (unsigned int i = 1; i < KVMM_MAX_FS; i++)
		cr_assert_eq(handle(v, HTTP_PUT, "vm.add-fs", FS_BODY("more", ""), NULL), 204);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-fs", FS_BODY("more", ""), &body), 400);
	cr_assert(strstr(body, "at most 4 virtio-fs devices"), "%s", body);
	free(body);

	/* Running, but with no VM behind the state (no /dev/kvm here; as while one shuts
	 * down): a hot-plug has nothing to go into, and the config is left alone. */
	v->state = API_RUNNING;
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-fs", FS_BODY("late", ""), &body), 405);
	cr_assert(strstr(body, "vm.add-fs: the VM is shutting down"), "%s", body);
	free(body);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-disk", "{\"path\": \"/d\"}", &body), 405);
	cr_assert(strstr(body, "vm.add-disk: the VM is shutting down"), "%s", body);
	free(body);
	cr_assert_eq(v->cfg.nr_fs, KVMM_MAX_FS);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-vsock", "{\"cid\": 3, \"socket\": \"/v\"}",
			    &body), 405);
	free(body);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.remove-device", "{\"id\": \"_fs0\"}", &body), 405);
	free(body);
	v->state = API_CREATED;
	api_vmm_free(v);
}

/* vm.remove-device before boot: the device leaves the config; other ids keep theirs. */
Test(api_config, vm_remove_device_before_boot)
{
	struct api_vmm *v;
	char *body;
	int wake;

	v = api_vmm_new(&wake);
	cr_assert_not_null(v);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.remove-device", "{\"id\": \"d1\"}", &body), 404);
	free(body);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.create", "{\"payload\": {\"kernel\": \"/k\"},"
			    " \"disks\": [{\"path\": \"/a\", \"id\": \"d1\"}, {\"path\": \"/b\"}]}",
			    NULL), 204);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.remove-device", "{\"id\": 7}", &body), 400);
	cr_assert(strstr(body, "vm.remove-device: the body must be"), "%s", body);
	free(body);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.remove-device", "not json", &body), 400);
	free(body);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.remove-device", "{\"id\": \"nope\"}", &body), 404);
	cr_assert(strstr(body, "nope"), "%s", body);
	free(body);
	cr_assert_eq(v->cfg.nr_disks, 2);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.remove-device", "{\"id\": \"d1\"}", NULL), 204);
	cr_assert_eq(v->cfg.nr_disks, 1);
	cr_assert_str_eq(v->cfg.disks[0].path, "/b");
	cr_assert_eq(handle(v, HTTP_PUT, "vm.remove-device", "{\"id\": \"d1\"}", NULL), 404);
	api_vmm_free(v);
}

/* Ids are fixed at boot: removing one device does not rename the others, and the vsock
 * device keeps Cloud Hypervisor's counter. */
Test(api_config, resolve_ids)
{
	struct vmm_config c;
	char id[64];

	config_init(&c);
	c.nr_disks = 2;
	c.disks[0].path = strdup("/a");
	c.disks[1].path = strdup("/b");
	c.nr_nets = 1;
	c.nets[0].fd = -1;
	c.nets[0].id = strdup("_disk1");	/* takes the second disk's default name */
	c.vsock.cid = 3;
	c.vsock.socket = strdup("/v");
	config_device_id(&c, 3, id, sizeof(id));
	cr_assert_str_eq(id, "_vsock3");
	cr_assert_eq(config_resolve_ids(&c), 0);
	cr_assert_str_eq(c.disks[0].id, "_disk0");
	cr_assert_str_eq(c.disks[1].id, "_disk2");
	cr_assert_str_eq(c.nets[0].id, "_disk1");
	cr_assert_str_eq(c.vsock.id, "_vsock3");
	cr_assert_eq(config_remove_device(&c, "_disk0"), 0);
	cr_assert_eq(c.nr_disks, 1);
	config_device_id(&c, 0, id, sizeof(id));
	cr_assert_str_eq(id, "_disk2");
	config_device_id(&c, 2, id, sizeof(id));
	cr_assert_str_eq(id, "_vsock3");
	cr_assert_eq(config_remove_device(&c, "_disk0"), -ENOENT);
	cr_assert_eq(config_remove_device(&c, "_disk1"), 0);
	cr_assert_eq(c.nr_nets, 0);
	/* The vsock device leaves too (hot-unplug), and its socket path with it. */
	cr_assert_eq(config_remove_device(&c, "_vsock3"), 0);
	cr_assert_eq(c.vsock.cid, 0);
	cr_assert_null(c.vsock.socket);
	cr_assert_null(c.vsock.id);
	cr_assert_eq(config_remove_device(&c, "_vsock3"), -ENOENT);
	config_free(&c);
}

/* Before boot vm.add-vsock puts the one vsock device in the config, a second is refused,
 * and vm.remove-device takes it out again. */
Test(api_config, vsock_add_remove_created)
{
	struct api_vmm *v;
	char *body = NULL;
	int wake;

	v = api_vmm_new(&wake);
	cr_assert_not_null(v);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.create", "{\"payload\": {\"kernel\": \"/k\"}}",
			    NULL), 204);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-vsock",
			    "{\"cid\": 3, \"socket\": \"/tmp/v.sock\", \"id\": \"vs\"}", NULL), 204);
	cr_assert_eq(v->cfg.vsock.cid, 3);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-vsock",
			    "{\"cid\": 4, \"socket\": \"/tmp/w.sock\"}", &body), 400);
	cr_assert(strstr(body, "already"), "%s", body);
	free(body);
	cr_assert_eq(v->cfg.vsock.cid, 3);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.remove-device", "{\"id\": \"vs\"}", NULL), 204);
	cr_assert_eq(v->cfg.vsock.cid, 0);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.remove-device", "{\"id\": \"vs\"}", NULL), 404);
	api_vmm_free(v);
}

/* Rate limiters: disks' and NICs' rate_limiter_config, and rate_limit_groups shared by the
 * disks that name them (linked whatever the order in the body). */
Test(api_config, rate_limits_mapped)
{
	cr_assert_eq(create_with(
		", \"disks\": [{\"path\": \"/a\", \"rate_limiter_config\": {"
		"   \"bandwidth\": {\"size\": 1048576, \"one_time_burst\": 2097152,"
		"    \"refill_time\": 250}, \"ops\": {\"size\": 100, \"refill_time\": 1000}}},"
		"  {\"path\": \"/b\", \"rate_limit_group\": \"g0\"},"
		"  {\"path\": \"/c\", \"rate_limit_group\": \"g0\"}, {\"path\": \"/d\"}],"
		" \"rate_limit_groups\": [{\"id\": \"g0\", \"rate_limiter_config\": {"
		"   \"ops\": {\"size\": 10, \"one_time_burst\": 0, \"refill_time\": 100}}},"
		"  {\"id\": \"unused\", \"rate_limiter_config\": {}}],"
		" \"net\": [{\"tap\": \"t0\", \"rate_limiter_config\": {\"bandwidth\": "
		"   {\"size\": 9223372036854775807, \"refill_time\": 9223372036854775807}}}]"),
		0, "%s", err);
	cr_assert_eq(cfg.disks[0].rate_limit.bw.size, 1048576);
	cr_assert_eq(cfg.disks[0].rate_limit.bw.one_time_burst, 2097152);
	cr_assert_eq(cfg.disks[0].rate_limit.bw.refill_time, 250);
	cr_assert_eq(cfg.disks[0].rate_limit.ops.size, 100);
	cr_assert_eq(cfg.disks[0].rate_limit.ops.refill_time, 1000);
	cr_assert_eq(cfg.nr_rl_groups, 2);
	cr_assert_str_eq(cfg.rl_groups[0].id, "g0");
	cr_assert_str_eq(cfg.rl_groups[1].id, "unused");
	for (unsigned int i = 1; i < 3; i++) {
		cr_assert_str_eq(cfg.disks[i].rate_limit_group, "g0");
		cr_assert_eq(cfg.disks[i].group_limits.ops.size, 10);
		cr_assert_eq(cfg.disks[i].group_limits.ops.refill_time, 100);
		cr_assert(!rl_config_enabled(&cfg.disks[i].rate_limit));
	}
	cr_assert(!rl_config_enabled(&cfg.disks[3].rate_limit));
	cr_assert_str_eq(cfg.disks[3].rate_limit_group, "");
	cr_assert_eq(cfg.nets[0].rate_limit.bw.size, INT64_MAX);
	cr_assert_eq(cfg.nets[0].rate_limit.bw.refill_time, INT64_MAX);
	cr_assert_eq(cfg.nets[0].rate_limit.ops.size, 0);
}

Test(api_config, rate_limit_refusals)
{
	EXPECT_REFUSALS(
	{ ", \"disks\": [{\"path\": \"/a\", \"rate_limiter_config\": {\"bandwidth\":"
	  " {\"size\": 1}}}]",
	  "disks[0].rate_limiter_config.bandwidth.refill_time: missing" },
	{ ", \"net\": [{\"tap\": \"t\", \"rate_limiter_config\": {\"ops\":"
	  " {\"refill_time\": 1}}}]",
	  "net[0].rate_limiter_config.ops.size: missing" },
	{ ", \"disks\": [{\"path\": \"/a\", \"rate_limiter_config\": {\"bandwidth\":"
	  " {\"size\": 1, \"refill_time\": 0}}}]",
	  "disks[0]: bw_refill_time (rate_limiter_config.bandwidth.refill_time) must be above 0 "
	  "when bw_size is set" },
	{ ", \"net\": [{\"tap\": \"t\", \"rate_limiter_config\": {\"ops\":"
	  " {\"size\": 5, \"refill_time\": 0}}}]",
	  "net[0]: ops_refill_time (rate_limiter_config.ops.refill_time) must be above 0 when "
	  "ops_size is set" },
	{ ", \"disks\": [{\"path\": \"/a\", \"rate_limiter_config\": {\"ops\":"
	  " {\"size\": -1, \"refill_time\": 1}}}]",
	  "disks[0].rate_limiter_config.ops.size: expected a non-negative integer" },
	{ ", \"disks\": [{\"path\": \"/a\", \"rate_limiter_config\": {\"ops\":"
	  " {\"size\": 1.5, \"refill_time\": 1}}}]",
	  "disks[0].rate_limiter_config.ops.size: expected a non-negative integer" },
	{ ", \"disks\": [{\"path\": \"/a\", \"rate_limit_group\": \"g\"}]",
	  "disks[0]: rate_limit_group 'g' is not defined (rate_limit_groups[], "
	  "--rate-limit-group id=g,...)" },
	{ ", \"disks\": [{\"path\": \"/a\", \"rate_limit_group\": \"\"}]",
	  "disks[0].rate_limit_group: '' is not a group id (1-63 bytes)" },
	{ ", \"disks\": [{\"path\": \"/a\", \"rate_limit_group\": \"g\","
	  " \"rate_limiter_config\": {\"ops\": {\"size\": 1, \"refill_time\": 1}}}],"
	  " \"rate_limit_groups\": [{\"id\": \"g\", \"rate_limiter_config\": {}}]",
	  "disks[0]: rate_limit_group and a rate limiter of its own (rate_limiter_config, "
	  "bw_*/ops_*) exclude each other" },
	{ ", \"rate_limit_groups\": [{\"rate_limiter_config\": {}}]",
	  "rate_limit_groups[0].id: missing (1-63 bytes)" },
	{ ", \"rate_limit_groups\": [{\"id\": \"g\"}]",
	  "rate_limit_groups[0].rate_limiter_config: missing" },
	{ ", \"rate_limit_groups\": [{\"id\": \"g\", \"rate_limiter_config\": {}},"
	  " {\"id\": \"g\", \"rate_limiter_config\": {}}]",
	  "rate_limit_groups[1]: id 'g' used twice" },
	{ ", \"rate_limit_groups\": [{\"id\": \"g\", \"rate_limiter_config\": {\"bandwidth\":"
	  " {\"size\": 2, \"refill_time\": 0}}}]",
	  "rate_limit_groups[0]: bw_refill_time (rate_limiter_config.bandwidth.refill_time) "
	  "must be above 0 when bw_size is set" },
	{ ", \"rate_limit_groups\": [{\"id\": \"g\", \"rate_limiter_config\": {}, \"x\": 1}]",
	  "unknown field 'rate_limit_groups[0].x'" });
}

/* vm.add-disk: its own limits, or a group vm.create defined; refusals leave no trace. */
Test(api_config, vm_add_disk_rate_limits)
{
	struct disk_config d;
	struct api_vmm *v;
	char *body;
	int wake;

	cr_assert_eq(add_disk("{\"path\": \"/a\", \"rate_limiter_config\": {\"bandwidth\":"
			      " {\"size\": 4096, \"refill_time\": 1}}}", &d), 0, "%s", err);
	cr_assert_eq(d.rate_limit.bw.size, 4096);
	api_disk_config_free(&d);
	cr_assert_eq(add_disk("{\"path\": \"/a\", \"rate_limiter_config\": {\"ops\":"
			      " {\"size\": 1}}}", &d), -EINVAL);
	cr_assert_str_eq(err, "rate_limiter_config.ops.refill_time: missing");

	v = api_vmm_new(&wake);
	cr_assert_not_null(v);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.create", "{\"payload\": {\"kernel\": \"/k\"},"
			    " \"rate_limit_groups\": [{\"id\": \"g\", \"rate_limiter_config\":"
			    " {\"bandwidth\": {\"size\": 8192, \"refill_time\": 2}}}]}", NULL), 204);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-disk", "{\"path\": \"/a\", \"id\": \"a\","
			    " \"rate_limit_group\": \"g\"}", NULL), 204);
	cr_assert_eq(v->cfg.nr_disks, 1);
	cr_assert_eq(v->cfg.disks[0].group_limits.bw.size, 8192);
	cr_assert_eq(v->cfg.disks[0].group_limits.bw.refill_time, 2);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-disk", "{\"path\": \"/b\","
			    " \"rate_limit_group\": \"h\"}", &body), 400);
	cr_assert(strstr(body, "vm.add-disk: disks[1]: rate_limit_group 'h' is not defined"),
		  "%s", body);
	free(body);
	cr_assert_eq(handle(v, HTTP_PUT, "vm.add-disk", "{\"path\": \"/b\", \"rate_limiter_config\":"
			    " {\"ops\": {\"size\": 3, \"refill_time\": 0}}}", &body), 400);
	cr_assert(strstr(body, "vm.add-disk: disks[1]: ops_refill_time"), "%s", body);
	free(body);
	cr_assert_eq(v->cfg.nr_disks, 1);
	api_vmm_free(v);
}

/* vm.info echoes the limiters and groups, and that echo creates the same limits again. */
Test(api_config, rate_limits_in_vm_info_round_trip)
{
	struct vmm_config again;
	json_t *info, *d0;
	char *s, *c;

	cr_assert_eq(create_with(
		", \"disks\": [{\"path\": \"/a\", \"rate_limiter_config\": {"
		"   \"bandwidth\": {\"size\": 4096, \"one_time_burst\": 7, \"refill_time\": 9},"
		"   \"ops\": {\"size\": 0, \"refill_time\": 0}}},"
		"  {\"path\": \"/b\", \"rate_limit_group\": \"g\"}],"
		" \"rate_limit_groups\": [{\"id\": \"g\", \"rate_limiter_config\": {"
		"   \"ops\": {\"size\": 10, \"refill_time\": 100}}}],"
		" \"net\": [{\"tap\": \"t0\", \"rate_limiter_config\": {\"ops\":"
		"   {\"size\": 5, \"one_time_burst\": 1, \"refill_time\": 2}}}]"), 0, "%s", err);
	s = api_vm_info(&cfg, "Created");
	cr_assert_not_null(s);
	info = json_loads(s, 0, NULL);
	cr_assert_not_null(info, "%s", s);
	d0 = json_array_get(json_object_get(json_object_get(info, "config"), "disks"), 0);
	cr_assert_null(json_object_get(json_object_get(d0, "rate_limiter_config"), "ops"),
		       "a bucket of size 0 is no limit: %s", s);
	cr_assert_null(json_object_get(d0, "rate_limit_group"));
	c = json_dumps(json_object_get(info, "config"), JSON_COMPACT);
	config_init(&again);
	cr_assert_eq(api_vm_config(c, strlen(c), &again, err, sizeof(err)), 0, "%s: %s", c, err);
	cr_assert_eq(again.disks[0].rate_limit.bw.size, 4096);
	cr_assert_eq(again.disks[0].rate_limit.bw.one_time_burst, 7);
	cr_assert_eq(again.disks[0].rate_limit.bw.refill_time, 9);
	cr_assert_eq(again.disks[0].rate_limit.ops.size, 0);
	cr_assert_str_eq(again.disks[1].rate_limit_group, "g");
	cr_assert_eq(again.disks[1].group_limits.ops.size, 10);
	cr_assert_eq(again.nr_rl_groups, 1);
	cr_assert_eq(again.nets[0].rate_limit.ops.size, 5);
	cr_assert_eq(again.nets[0].rate_limit.ops.one_time_burst, 1);
	cr_assert_eq(again.nets[0].rate_limit.ops.refill_time, 2);
	config_free(&again);
	free(c);
	json_decref(info);
	free(s);
}
