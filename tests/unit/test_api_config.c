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

#include "api_config.h"

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

/*
 * What Kata's clh driver sends (clh.go CreateVM with the generated client's constructor
 * defaults), with max_vcpus = boot_vcpus and no memory.hotplug_size, which kvmm refuses.
 */
static const char kata_body[] =
	"{\"payload\": {\"kernel\": \"/opt/kata/vmlinux.container\","
	"  \"cmdline\": \"panic=1 no_timer_check noreplace-smp quiet root=/dev/vda1\","
	"  \"initramfs\": \"/opt/kata/kata-initrd.img\"},"
	" \"platform\": {\"num_pci_segments\": 2, \"tdx\": false, \"sev_snp\": false,"
	"  \"iommufd\": false, \"vfio_p2p_dma\": true},"
	" \"memory\": {\"size\": 2147483648, \"mergeable\": false, \"hotplug_method\": \"Acpi\","
	"  \"shared\": false, \"hugepages\": false, \"prefault\": false, \"thp\": true},"
	" \"cpus\": {\"boot_vcpus\": 2, \"max_vcpus\": 2, \"kvm_hyperv\": false, \"nested\": true,"
	"  \"topology\": {\"threads_per_core\": 1, \"cores_per_die\": 2, \"dies_per_package\": 1,"
	"   \"packages\": 1}},"
	" \"rng\": {\"src\": \"/dev/urandom\", \"iommu\": false},"
	" \"disks\": [{\"path\": \"/opt/kata/kata-containers.img\", \"readonly\": true,"
	"  \"direct\": false, \"iommu\": false, \"num_queues\": 1, \"queue_size\": 128,"
	"  \"vhost_user\": false, \"backing_files\": false, \"sparse\": true,"
	"  \"image_type\": \"Raw\", \"rate_limiter_config\": {"
	"   \"bandwidth\": {\"size\": 1000, \"one_time_burst\": 0, \"refill_time\": 1000},"
	"   \"ops\": {\"size\": 100, \"refill_time\": 1000}}}],"
	" \"serial\": {\"mode\": \"Tty\"},"
	" \"console\": {\"mode\": \"Off\", \"iommu\": false},"
	" \"iommu\": false, \"watchdog\": false, \"pvpanic\": false, \"landlock_enable\": false}";

Test(api_config, kata_vm_create)
{
	cr_assert_eq(create(kata_body), 0, "%s", err);
	cr_assert_str_eq(cfg.kernel, "/opt/kata/vmlinux.container");
	cr_assert_str_eq(cfg.initramfs, "/opt/kata/kata-initrd.img");
	cr_assert_str_eq(cfg.cmdline, "panic=1 no_timer_check noreplace-smp quiet root=/dev/vda1");
	cr_assert_eq(cfg.boot_vcpus, 2);
	cr_assert_eq(cfg.mem_size, 2ULL << 30);
	cr_assert_str_eq(cfg.rng_src, "/dev/urandom");
	cr_assert_eq(cfg.nr_disks, 1);
	cr_assert_str_eq(cfg.disks[0].path, "/opt/kata/kata-containers.img");
	cr_assert(cfg.disks[0].readonly);
	cr_assert_not(cfg.disks[0].direct);
	cr_assert_null(cfg.disks[0].id);
	cr_assert_eq(cfg.nr_nets, 0);
	cr_assert_eq(cfg.serial, SERIAL_TTY);
	cr_assert_eq(cfg.console, CONSOLE_OFF);
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
	cr_assert_eq(create_with(", \"memory\": {\"size\": 2147483648, \"hugepages\": true,"
				 " \"hugepage_size\": 1073741824, \"shared\": true}"), 0, "%s", err);
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

/* What Kata's clh driver always sends although kvmm cannot hot-plug yet: accepted, ignored. */
Test(api_config, kata_hotplug_fields_ignored)
{
	struct vmm_config c;
	char err[256];
	const char *j = "{\"payload\": {\"kernel\": \"/k\"}, \"cpus\": {\"boot_vcpus\": 2, "
			"\"max_vcpus\": 8}, \"memory\": {\"size\": 536870912, "
			"\"hotplug_size\": 2147483648}}";

	config_init(&c);
	cr_assert_eq(api_vm_config(j, strlen(j), &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.boot_vcpus, 2);
	cr_assert_eq(c.mem_size, 536870912);
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
	  "disks[0].vhost_user: vhost-user devices are not supported" },
	{ ", \"disks\": [{\"path\": \"/a\", \"vhost_socket\": \"/s\"}]",
	  "disks[0].vhost_socket: vhost-user devices are not supported" },
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
	  "net[0].vhost_user: vhost-user devices are not supported" },
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
	{ ", \"fs\": [{\"tag\": \"kataShared\", \"socket\": \"/s\", \"num_queues\": 1,"
	  " \"queue_size\": 1024}]", "fs: virtio-fs not supported yet" },
	{ ", \"balloon\": {\"size\": 0, \"free_page_reporting\": true}",
	  "balloon: virtio-balloon not supported yet" },
	{ ", \"pmem\": [{\"file\": \"/p\"}]", "pmem: virtio-pmem not supported yet" },
	{ ", \"devices\": [{\"path\": \"/sys/bus/pci/devices/0000:00:01.0\"}]",
	  "devices: VFIO devices not supported yet" },
	{ ", \"vdpa\": [{\"path\": \"/dev/vhost-vdpa-0\", \"num_queues\": 1}]",
	  "vdpa: vDPA devices not supported yet" },
	{ ", \"generic_vhost_user\": [{\"socket\": \"/s\", \"queue_sizes\": [256],"
	  " \"device_type\": 1}]", "generic_vhost_user: vhost-user devices are not supported" },
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
		", \"rate_limit_groups\": [{\"id\": \"g\", \"rate_limiter_config\": {}}],"
		" \"pci_segments\": [{\"pci_segment\": 1}],"
		" \"pvpanic\": true, \"landlock_rules\": [],"
		" \"platform\": {\"num_pci_segments\": 2,"
		" \"uuid\": \"u\", \"oem_strings\": [\"a\"]},"
		" \"memory\": {\"size\": 268435456, \"shared\": true, \"thp\": false,"
		"  \"hotplug_size\": 0},"
		" \"cpus\": {\"boot_vcpus\": 3, \"max_vcpus\": 3, \"core_scheduling\": \"Vm\","
		"  \"max_phys_bits\": 46, \"topology\": {\"threads_per_core\": 1,"
		"  \"cores_per_die\": 3, \"dies_per_package\": 1, \"packages\": 1}},"
		" \"disks\": [{\"path\": \"/a\", \"num_queues\": 4, \"queue_size\": 1024,"
		"  \"pci_segment\": 1, \"rate_limit_group\": \"g\","
		" \"lock_granularity\": \"Full\"}],"
		" \"net\": [{\"tap\": \"t0\", \"mtu\": 1400, \"queue_size\": 1024,"
		"  \"vhost_mode\": \"Client\","
		" \"rate_limiter_config\": {\"bandwidth\": {\"size\": 1,"
		"  \"refill_time\": 1}}, \"offload_csum\": true}],"
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
	cr_assert_str_eq(again.initramfs, cfg.initramfs);
	cr_assert_eq(again.boot_vcpus, cfg.boot_vcpus);
	cr_assert_eq(again.mem_size, cfg.mem_size);
	cr_assert_eq(again.serial, cfg.serial);
	cr_assert_eq(again.nr_disks, 1);
	cr_assert_str_eq(again.disks[0].path, cfg.disks[0].path);
	cr_assert_eq(again.disks[0].readonly, cfg.disks[0].readonly);
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
