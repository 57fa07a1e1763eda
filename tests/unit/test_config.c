/*
 * Unit tests for command-line parsing and config validation (devices, their ids, virtio-fs
 * and the shared memory it needs).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define ARGV(...) ((char *[]){ "kvmm", __VA_ARGS__, NULL })
#define ARGC(a) ((int)(sizeof(a) / sizeof(a[0])) - 1)

static enum cli_result parse(struct vmm_config *c, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	config_init(c);
	return config_parse_args(c, argc, argv);
}

Test(config, parse_size)
{
	uint64_t v;

	cr_assert_eq(parse_size("512M", &v), 0);
	cr_assert_eq(v, 512ULL << 20);
	cr_assert_eq(parse_size("2G", &v), 0);
	cr_assert_eq(v, 2ULL << 30);
	cr_assert_eq(parse_size("1048576", &v), 0);
	cr_assert_eq(v, 1048576);
	cr_assert_eq(parse_size("64MiB", &v), 0);
	cr_assert_eq(v, 64ULL << 20);
	cr_assert_eq(parse_size("0x1000", &v), 0);
	cr_assert_eq(v, 0x1000);
	cr_assert_eq(parse_size("", &v), -EINVAL);
	cr_assert_eq(parse_size("-1M", &v), -EINVAL);
	cr_assert_eq(parse_size("12Q", &v), -EINVAL);
	cr_assert_eq(parse_size("1MX", &v), -EINVAL);
	cr_assert_eq(parse_size("99999999999999999999", &v), -ERANGE);
	cr_assert_eq(parse_size("17179869184G", &v), -ERANGE);
}

Test(config, full_command_line)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--initramfs", "/i",
				    "--cmdline", "console=ttyS0 quiet",
				    "--cpus", "boot=2", "--memory", "size=1G",
				    "--serial", "file=/tmp/x", "--console", "off",
				    "-v", "-v")), CLI_RUN);
	cr_assert_str_eq(c.kernel, "/k");
	cr_assert_str_eq(c.initramfs, "/i");
	cr_assert_str_eq(c.cmdline, "console=ttyS0 quiet");
	cr_assert_eq(c.boot_vcpus, 2);
	cr_assert_eq(c.mem_size, 1ULL << 30);
	cr_assert(c.mem_thp);
	cr_assert_eq(c.serial, SERIAL_FILE);
	cr_assert_str_eq(c.serial_path, "/tmp/x");
	cr_assert_eq(c.verbosity, 2);
	cr_assert(c.acpi);
	config_free(&c);
}

Test(config, memory_thp)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--memory", "size=256M,thp=off")), CLI_RUN);
	cr_assert_eq(c.mem_size, 256ULL << 20);
	cr_assert_not(c.mem_thp);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--memory", "thp=on,size=64M")), CLI_RUN);
	cr_assert_eq(c.mem_size, 64ULL << 20);
	cr_assert(c.mem_thp);
	cr_assert_not(c.mem_hugepages);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--memory", "size=2G,hugepages=on")), CLI_RUN);
	cr_assert(c.mem_hugepages);
	cr_assert_eq(c.mem_hugepage_size, 0, "0: the default, 2 MiB");
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--memory",
				    "size=2G,hugepages=on,hugepage_size=1G")), CLI_RUN);
	cr_assert_eq(c.mem_hugepage_size, 1ULL << 30);
	config_free(&c);
}

Test(config, defaults)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "/k")), CLI_RUN);
	cr_assert_eq(c.boot_vcpus, 1);
	cr_assert_eq(c.mem_size, 512ULL << 20);
	cr_assert_eq(c.serial, SERIAL_TTY);
	cr_assert_null(c.initramfs);
	config_free(&c);
}

Test(config, cpus_max)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--cpus", "boot=2,max=2")),
		     CLI_RUN);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--cpus", "boot=2,max=4")), CLI_RUN);
	cr_assert_eq(c.boot_vcpus, 2);
	cr_assert_eq(c.max_vcpus, 4);
	config_free(&c);
}

Test(config, bad_arguments, .init = cr_redirect_stderr)
{
	char **bad[] = {
		ARGV("--kernel", "/k", "--cpus", "boot=abc"),
		ARGV("--kernel", "/k", "--cpus", "boot=0"),
		ARGV("--kernel", "/k", "--cpus", "boot=65"),
		ARGV("--kernel", "/k", "--cpus", "boot=2,max=1"),
		ARGV("--kernel", "/k", "--cpus", "boot=2,max=65"),
		ARGV("--kernel", "/k", "--cpus", "2"),
		ARGV("--kernel", "/k", "--cpus", "boot=1,boot=2"),
		ARGV("--kernel", "/k", "--cpus", "boot=1,foo=2"),
		ARGV("--kernel", "/k", "--memory", "size=8M"),
		ARGV("--kernel", "/k", "--memory", "size=1000"),
		ARGV("--kernel", "/k", "--memory", "512M"),
		ARGV("--kernel", "/k", "--memory", "size=2X"),
		ARGV("--kernel", "/k", "--memory", "size=64M,thp=maybe"),
		ARGV("--kernel", "/k", "--memory", "thp=off"),
		ARGV("--kernel", "/k", "--memory", "size=64M,hugepages=maybe"),
		ARGV("--kernel", "/k", "--memory", "size=64M,hugepages=on,hugepage_size=4K"),
		ARGV("--kernel", "/k", "--memory", "size=64M,hugepage_size=2M"),
		ARGV("--kernel", "/k", "--memory", "size=1G,hugepages=on,hugepage_size=1G,x=1"),
		ARGV("--kernel", "/k", "--memory", "size=65M,hugepages=on"),
		ARGV("--kernel", "/k", "--serial", "pty"),
		ARGV("--kernel", "/k", "--serial", "file="),
		ARGV("--kernel", "/k", "--console", "tty"),
		ARGV("--kernel", "/k", "--bogus"),
		ARGV("--kernel", "/k", "extra"),
		ARGV("--kernel"),
		ARGV("--initramfs", "/i"),
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmm_config c;

		cr_expect_eq(parse(&c, bad[i]), CLI_USAGE, "case %u", i);
		config_free(&c);
	}
}

Test(config, bad_argument_is_named, .init = cr_redirect_stderr)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--cpus", "boot=abc")),
		     CLI_USAGE);
	config_free(&c);
	fflush(stderr);
	cr_assert_stderr_eq_str("kvmm: invalid value 'abc' in --cpus boot=abc\n");
}

/* The mistakes a newcomer makes get a hint: a bare vCPU count, a reserved CID. */
Test(config, bad_argument_hints, .init = cr_redirect_stderr)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--cpus", "2")), CLI_USAGE);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--vsock", "cid=2,socket=/s")), CLI_USAGE);
	config_free(&c);
	fflush(stderr);
	cr_assert_stderr_eq_str("kvmm: invalid value '2' in --cpus 2 (the form is --cpus "
				"boot=N[,max=M], N and M 1-64)\n"
				"kvmm: invalid value '2' in --vsock cid=2,socket=/s (a guest's CID "
				"is 3 or more: 0-2 are the hypervisor's, the local and the host's)\n");
}

Test(config, help_and_version, .init = cr_redirect_stdout)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--help")), CLI_EXIT_OK);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--version")), CLI_EXIT_OK);
	config_free(&c);
}

Test(config, disks_and_rng)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--disk", "path=/a.img,readonly=on,serial=S1",
				    "--disk", "path=/b.img,id=data,direct=true", "--rng",
				    "src=/dev/random")), CLI_RUN);
	cr_assert_eq(c.nr_disks, 2);
	cr_assert_str_eq(c.disks[0].path, "/a.img");
	cr_assert(c.disks[0].readonly);
	cr_assert_str_eq(c.disks[0].serial, "S1");
	cr_assert_null(c.disks[0].id);
	cr_assert_not(c.disks[1].readonly);
	cr_assert(c.disks[1].direct);
	cr_assert_str_eq(c.disks[1].id, "data");
	cr_assert_str_eq(c.rng_src, "/dev/random");
	config_free(&c);

	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--rng", "off")), CLI_RUN);
	cr_assert_null(c.rng_src);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "k")), CLI_RUN);
	cr_assert_str_eq(c.rng_src, "/dev/urandom", "virtio-rng is on by default");
	config_free(&c);
}

Test(config, bad_disks, .init = cr_redirect_stderr)
{
	static const char *const bad[] = {
		"readonly=on",			/* no path */
		"path=",			/* empty path */
		"path=/a,readonly=maybe",
		"path=/a,cache=none",		/* unknown key */
		"path=/a,path=/b",		/* key twice */
		"path=/a,serial=123456789012345678901",	/* 21 bytes */
		"path",
	};
	struct vmm_config c;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--disk", (char *)bad[i])), CLI_USAGE,
			     "--disk %s accepted", bad[i]);
		config_free(&c);
	}
	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--disk", "path=/a,id=x", "--disk",
				    "path=/b,id=x")), CLI_USAGE, "duplicate id");
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--rng", "file=/x")), CLI_USAGE);
	config_free(&c);
}

Test(config, too_many_disks, .init = cr_redirect_stderr)
{
	struct vmm_config c;
	char *argv[2 + 2 * (KVMM_MAX_DISKS + 1) + 1] = { "kvmm", "--kernel=k" };
	int n = 2;

	for (int i = 0; i <= KVMM_MAX_DISKS; i++) {
		argv[n++] = "--disk";
		argv[n++] = "path=/x";
	}
	argv[n] = NULL;
	cr_assert_eq(parse(&c, argv), CLI_USAGE);
	config_free(&c);
}

/* Device ids: the user's, else Cloud Hypervisor's "_disk<N>"/"_net<N>"/"_vsock<N>" with one
 * counter over the devices named by default, skipping names an explicit id took. */
Test(config, default_device_ids)
{
	struct vmm_config c;
	char id[64];

	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--disk", "path=/a", "--disk",
				    "path=/b,id=_disk1", "--disk", "path=/c", "--net", "tap=t0",
				    "--net", "tap=t1,id=web", "--vsock", "cid=3,socket=/s")),
		     CLI_RUN);
	config_device_id(&c, 0, id, sizeof(id));
	cr_expect_str_eq(id, "_disk0");
	config_device_id(&c, 1, id, sizeof(id));
	cr_expect_str_eq(id, "_disk1", "an explicit id stays");
	config_device_id(&c, 2, id, sizeof(id));
	cr_expect_str_eq(id, "_disk2", "the counter skips the name the explicit id took");
	config_device_id(&c, 3, id, sizeof(id));
	cr_expect_str_eq(id, "_net3");
	config_device_id(&c, 4, id, sizeof(id));
	cr_expect_str_eq(id, "web");
	config_device_id(&c, 5, id, sizeof(id));
	cr_expect_str_eq(id, "_vsock4");
	config_free(&c);
}

Test(config, pci_options, .init = cr_redirect_stderr)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--pci-segments", "2", "--disk",
				    "path=/a,pci_segment=1", "--net", "tap=t0,pci_segment=1",
				    "--virtio-transport", "mmio")), CLI_RUN);
	cr_assert_eq(c.pci_segments, 2);
	cr_assert_eq(c.disks[0].pci_segment, 1);
	cr_assert_eq(c.nets[0].pci_segment, 1);
	cr_assert_eq(c.transport, VIRTIO_TRANSPORT_MMIO);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "k")), CLI_RUN);
	cr_assert_eq(c.transport, VIRTIO_TRANSPORT_AUTO);
	cr_assert_eq(c.pci_segments, 1);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--disk", "path=/a,pci_segment=1")), CLI_USAGE,
		     "a segment the VM does not have");
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--pci-segments", "17")), CLI_USAGE);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--pci-segments", "0")), CLI_USAGE);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--virtio-transport", "ccw")), CLI_USAGE);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--disk", "path=/a,pci_segment=x")), CLI_USAGE);
	config_free(&c);
}

Test(config, memory_shared)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "/k")), CLI_RUN);
	cr_assert_not(c.mem_shared, "off by default, as in Cloud Hypervisor");
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--memory", "size=1G,shared=on")), CLI_RUN);
	cr_assert(c.mem_shared);
	config_free(&c);
	cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--memory", "shared=off,size=1G")), CLI_RUN);
	cr_assert_not(c.mem_shared);
	config_free(&c);
}

Test(config, fs_options)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--memory", "size=1G,shared=on",
				    "--pci-segments", "2",
				    "--fs", "tag=kataShared,socket=/run/vfs.sock",
				    "--fs", "socket=/run/b.sock,tag=b,num_queues=7,queue_size=64,"
				    "id=share,pci_segment=1")), CLI_RUN);
	cr_assert_eq(c.nr_fs, 2);
	cr_assert_str_eq(c.fs[0].tag, "kataShared");
	cr_assert_str_eq(c.fs[0].socket, "/run/vfs.sock");
	cr_assert_null(c.fs[0].id);
	cr_assert_eq(c.fs[0].num_queues, 1, "default");
	cr_assert_eq(c.fs[0].queue_size, 1024, "default");
	cr_assert_eq(c.fs[0].pci_segment, 0);
	cr_assert_str_eq(c.fs[1].id, "share");
	cr_assert_eq(c.fs[1].num_queues, 7);
	cr_assert_eq(c.fs[1].queue_size, 64);
	cr_assert_eq(c.fs[1].pci_segment, 1);
	config_free(&c);
	cr_assert_eq(c.nr_fs, 0);

	/* Huge pages are shared memory already (Cloud Hypervisor's rule: shared or hugepages). */
	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--memory", "size=1G,hugepages=on",
				    "--fs", "tag=t,socket=/s")), CLI_RUN);
	cr_assert_eq(c.nr_fs, 1);
	config_free(&c);
}

Test(config, bad_fs, .init = cr_redirect_stderr)
{
	static const char *const bad[] = {
		"socket=/s",				/* no tag */
		"tag=t",				/* no socket */
		"tag=,socket=/s",
		"tag=t,socket=",
		"tag=1234567890123456789012345678901234567,socket=/s",	/* 37 bytes */
		"tag=t,socket=/s,num_queues=0",
		"tag=t,socket=/s,num_queues=8",
		"tag=t,socket=/s,num_queues=x",
		"tag=t,socket=/s,queue_size=1000",	/* not a power of two */
		"tag=t,socket=/s,queue_size=2048",
		"tag=t,socket=/s,queue_size=0",
		"tag=t,socket=/s,queue_size=-1",
		"tag=t,socket=/s,pci_segment=1",	/* the VM has one segment */
		"tag=t,socket=/s,pci_segment=16",
		"tag=t,socket=/s,id=",
		"tag=t,socket=/s,dax=on",		/* unknown key */
		"tag=t,tag=u,socket=/s",		/* key twice */
		"tag=t,socket=/s,cache",
	};
	struct vmm_config c;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(parse(&c, ARGV("--kernel", "k", "--memory", "size=1G,shared=on",
					    "--fs", (char *)bad[i])), CLI_USAGE,
			     "--fs %s accepted", bad[i]);
		config_free(&c);
	}
	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--memory", "size=1G,shared=on",
				    "--disk", "path=/a,id=x", "--fs", "tag=t,socket=/s,id=x")),
		     CLI_USAGE, "an fs id in the disks' and NICs' namespace");
	config_free(&c);
}

Test(config, too_many_fs, .init = cr_redirect_stderr)
{
	struct vmm_config c;
	char *argv[4 + 2 * (KVMM_MAX_FS + 1) + 1] = { "kvmm", "--kernel=k", "--memory",
						      "size=1G,shared=on" };
	int n = 4;

	for (int i = 0; i < KVMM_MAX_FS; i++) {
		argv[n++] = "--fs";
		argv[n++] = "tag=t,socket=/s";
	}
	argv[n] = NULL;
	cr_assert_eq(parse(&c, argv), CLI_RUN, "%d devices fit", KVMM_MAX_FS);
	cr_assert_eq(c.nr_fs, KVMM_MAX_FS);
	config_free(&c);
	argv[n++] = "--fs";
	argv[n++] = "tag=t,socket=/s";
	argv[n] = NULL;
	cr_assert_eq(parse(&c, argv), CLI_USAGE);
	config_free(&c);
}

/* Without shared memory the command line is refused, and the message says which field and
 * why. */
Test(config, fs_needs_shared_memory, .init = cr_redirect_stderr)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--fs", "tag=t,socket=/s")), CLI_USAGE);
	config_free(&c);
	fflush(stderr);
	cr_assert_stderr_eq_str("kvmm: fs: virtio-fs needs memory.shared=true (--memory shared=on) "
				"or hugepages: the vhost-user back-end maps guest RAM\n");
}

/* config_validate()'s message for each bad fs_config, as the API's vm.create and vm.add-fs
 * get it when the body passed the schema (and as the command line prints it). */
Test(config, fs_validation_messages)
{
	static const struct {
		const char *opt;
		const char *msg;
	} cases[] = {
		{ "tag=1234567890123456789012345678901234567,socket=/s",
		  "fs[0]: tag '1234567890123456789012345678901234567' is 37 bytes, virtio-fs "
		  "allows 1-36" },
		{ "tag=t,socket=/s,num_queues=8", "fs[0]: num_queues 8 out of range 1-7" },
		{ "tag=t,socket=/s,num_queues=0", "fs[0]: num_queues 0 out of range 1-7" },
		{ "tag=t,socket=/s,queue_size=1000",
		  "fs[0]: queue_size 1000 is not a power of two in 1-1024" },
		{ "tag=t,socket=/s,queue_size=2048",
		  "fs[0]: queue_size 2048 is not a power of two in 1-1024" },
		{ "tag=t,socket=/s,pci_segment=2",
		  "fs[0]: pci_segment 2, but the VM has 2 PCI segment(s) "
		  "(platform.num_pci_segments)" },
		{ "tag=t,socket=/012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678",
		  "fs[0]: socket path longer than 107 bytes (Unix socket limit)" },
	};
	struct vmm_config c;
	char err[256], opt[256];
	const char *bad;

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&c);
		c.kernel = strdup("k");
		c.mem_shared = true;
		c.pci_segments = 2;
		snprintf(opt, sizeof(opt), "%s", cases[i].opt);
		cr_assert_eq(config_opt_fs(&c, opt, &bad), 0, "%s", cases[i].opt);
		err[0] = '\0';
		cr_expect_eq(config_validate(&c, err, sizeof(err)), -EINVAL, "%s", cases[i].opt);
		cr_expect_str_eq(err, cases[i].msg);
		config_free(&c);
	}
	/* The API can hand over what the command line's parser cannot: no tag, no socket. */
	config_init(&c);
	c.kernel = strdup("k");
	c.mem_shared = true;
	c.nr_fs = 1;
	c.fs[0] = (struct fs_config){ .num_queues = 1, .queue_size = 1024 };
	cr_assert_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "fs[0]: tag is required (the name the guest mounts)");
	c.fs[0].tag = strdup("t");
	cr_assert_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "fs[0]: socket is required (the vhost-user back-end's Unix socket, "
			 "e.g. virtiofsd's)");
	c.fs[0].socket = strdup("/s");
	cr_assert_eq(config_validate(&c, err, sizeof(err)), 0, "%s", err);
	config_free(&c);
}

/* Cloud Hypervisor names disks, NICs, then fs devices, then vsock with one counter. */
Test(config, default_device_ids_with_fs)
{
	struct vmm_config c;
	char id[64];

	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--memory", "size=1G,shared=on",
				    "--disk", "path=/a", "--net", "tap=t0",
				    "--fs", "tag=t,socket=/s", "--vsock", "cid=3,socket=/v")),
		     CLI_RUN);
	config_device_id(&c, 0, id, sizeof(id));
	cr_expect_str_eq(id, "_disk0");
	config_device_id(&c, 1, id, sizeof(id));
	cr_expect_str_eq(id, "_net1");
	config_device_id(&c, 2, id, sizeof(id));
	cr_expect_str_eq(id, "_fs2");
	config_device_id(&c, 3, id, sizeof(id));
	cr_expect_str_eq(id, "_vsock3");
	config_free(&c);

	/* Explicit ids keep their names and the counter skips names they took. */
	cr_assert_eq(parse(&c, ARGV("--kernel", "k", "--memory", "size=1G,shared=on",
				    "--disk", "path=/a,id=_fs1", "--net", "tap=t0",
				    "--fs", "tag=a,socket=/s", "--fs", "tag=b,socket=/s,id=share",
				    "--fs", "tag=c,socket=/s", "--vsock", "cid=3,socket=/v")),
		     CLI_RUN);
	config_device_id(&c, 0, id, sizeof(id));
	cr_expect_str_eq(id, "_fs1");
	config_device_id(&c, 1, id, sizeof(id));
	cr_expect_str_eq(id, "_net0");
	config_device_id(&c, 2, id, sizeof(id));
	cr_expect_str_eq(id, "_fs2", "_fs1 is the disk's");
	config_device_id(&c, 3, id, sizeof(id));
	cr_expect_str_eq(id, "share");
	config_device_id(&c, 4, id, sizeof(id));
	cr_expect_str_eq(id, "_fs3");
	config_device_id(&c, 5, id, sizeof(id));
	cr_expect_str_eq(id, "_vsock4");
	config_free(&c);
}

/* Every virtio device needs an interrupt line of its own: 8 disks, 8 NICs, vsock and rng
 * fill x86_64's 18, so one virtio-fs device more is refused by count, naming the limit. */
Test(config, virtio_device_total)
{
	struct vmm_config c;
	char err[256];

	config_init(&c);
	c.kernel = strdup("k");
	c.mem_shared = true;
	c.nr_disks = KVMM_MAX_DISKS;
	for (unsigned int i = 0; i < c.nr_disks; i++)
		c.disks[i].path = strdup("/d");
	c.nr_nets = KVMM_MAX_NETS;
	for (unsigned int i = 0; i < c.nr_nets; i++)
		c.nets[i] = (struct net_config){ .tap = strdup("t"), .fd = -1 };
	c.vsock.cid = 3;
	c.vsock.socket = strdup("/v");
	cr_assert_eq(config_validate(&c, err, sizeof(err)), 0, "%s", err);
	c.fs[0] = (struct fs_config){ .tag = strdup("t"), .socket = strdup("/s"),
				      .num_queues = 1, .queue_size = 1024 };
	c.nr_fs = 1;
	cr_assert_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "19 virtio devices") && strstr(err, "at most 18"), "%s", err);
	free(c.rng_src);
	c.rng_src = NULL;
	cr_assert_eq(config_validate(&c, err, sizeof(err)), 0, "%s", err);
	config_free(&c);
}

/* Rate limiters: Cloud Hypervisor's bw_* and ops_* keys on --disk and --net, and
 * --rate-limit-group with rate_limit_group= on --disk. */
Test(config, rate_limit_options)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "/k",
		"--disk", "path=/a,bw_size=1048576,bw_one_time_burst=2097152,bw_refill_time=250,"
			  "ops_size=100,ops_one_time_burst=5,ops_refill_time=1000",
		"--disk", "path=/b,rate_limit_group=g0",
		"--disk", "path=/c,rate_limit_group=g0",
		"--disk", "path=/d",
		"--rate-limit-group", "id=g0,bw_size=1000,bw_refill_time=10",
		"--net", "tap=t0,bw_size=9223372036854775807,bw_refill_time=1,ops_size=0")),
		CLI_RUN);
	cr_assert_eq(c.disks[0].rate_limit.bw.size, 1048576);
	cr_assert_eq(c.disks[0].rate_limit.bw.one_time_burst, 2097152);
	cr_assert_eq(c.disks[0].rate_limit.bw.refill_time, 250);
	cr_assert_eq(c.disks[0].rate_limit.ops.size, 100);
	cr_assert_eq(c.disks[0].rate_limit.ops.one_time_burst, 5);
	cr_assert_eq(c.disks[0].rate_limit.ops.refill_time, 1000);
	cr_assert_str_eq(c.disks[0].rate_limit_group, "");
	cr_assert(!rl_config_enabled(&c.disks[0].group_limits));
	/* The group is defined after the disks naming it: linked all the same. */
	cr_assert_eq(c.nr_rl_groups, 1);
	cr_assert_str_eq(c.rl_groups[0].id, "g0");
	for (unsigned int i = 1; i < 3; i++) {
		cr_assert_str_eq(c.disks[i].rate_limit_group, "g0");
		cr_assert(!rl_config_enabled(&c.disks[i].rate_limit));
		cr_assert_eq(c.disks[i].group_limits.bw.size, 1000);
		cr_assert_eq(c.disks[i].group_limits.bw.refill_time, 10);
	}
	cr_assert(!rl_config_enabled(&c.disks[3].rate_limit));
	cr_assert_eq(c.nets[0].rate_limit.bw.size, INT64_MAX);
	cr_assert_eq(c.nets[0].rate_limit.ops.size, 0);
	config_free(&c);
}

Test(config, bad_rate_limits, .init = cr_redirect_stderr)
{
	char **bad[] = {
		ARGV("--kernel", "/k", "--disk", "path=/a,bw_size=-1,bw_refill_time=1"),
		ARGV("--kernel", "/k", "--disk", "path=/a,bw_size=9223372036854775808,"
			"bw_refill_time=1"),
		ARGV("--kernel", "/k", "--disk", "path=/a,bw_size=1k,bw_refill_time=1"),
		ARGV("--kernel", "/k", "--disk", "path=/a,ops_size=,ops_refill_time=1"),
		ARGV("--kernel", "/k", "--disk", "path=/a,bw_rate=1"),
		ARGV("--kernel", "/k", "--disk", "path=/a,bw_size=1"),
		ARGV("--kernel", "/k", "--disk", "path=/a,ops_size=1,ops_refill_time=0"),
		ARGV("--kernel", "/k", "--net", "tap=t0,bw_size=10"),
		ARGV("--kernel", "/k", "--disk", "path=/a,rate_limit_group=nope"),
		ARGV("--kernel", "/k", "--disk", "path=/a,rate_limit_group="),
		ARGV("--kernel", "/k", "--disk", "path=/a,rate_limit_group=g,bw_size=1,"
			"bw_refill_time=1", "--rate-limit-group", "id=g"),
		ARGV("--kernel", "/k", "--rate-limit-group", "bw_size=1,bw_refill_time=1"),
		ARGV("--kernel", "/k", "--rate-limit-group", "id=g,bw_size=1"),
		ARGV("--kernel", "/k", "--rate-limit-group", "id=g", "--rate-limit-group",
			"id=g"),
		ARGV("--kernel", "/k", "--rate-limit-group", "id=g,path=/a"),
		ARGV("--kernel", "/k", "--rate-limit-group",
			"id=0123456789012345678901234567890123456789012345678901234567890123"),
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmm_config c;

		cr_expect_eq(parse(&c, bad[i]), CLI_USAGE, "case %u", i);
		config_free(&c);
	}
}

Test(config, rate_limit_messages_name_the_field)
{
	static const struct {
		const char *disk, *group, *msg;
	} cases[] = {
		{ "path=/a,bw_size=1", NULL,
		  "disks[0]: bw_refill_time (rate_limiter_config.bandwidth.refill_time) must be "
		  "above 0 when bw_size is set" },
		{ "path=/a,ops_size=1,ops_refill_time=0", NULL,
		  "disks[0]: ops_refill_time (rate_limiter_config.ops.refill_time) must be above 0 "
		  "when ops_size is set" },
		{ "path=/a,rate_limit_group=g1", "id=g0",
		  "disks[0]: rate_limit_group 'g1' is not defined (rate_limit_groups[], "
		  "--rate-limit-group id=g1,...)" },
		{ "path=/a,rate_limit_group=g0,ops_size=1,ops_refill_time=1", "id=g0",
		  "disks[0]: rate_limit_group and a rate limiter of its own (rate_limiter_config, "
		  "bw_*/ops_*) exclude each other" },
		{ "path=/a", "id=g0,bw_size=5",
		  "rate_limit_groups[0]: bw_refill_time (rate_limiter_config.bandwidth.refill_time) "
		  "must be above 0 when bw_size is set" },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmm_config c;
		char disk[128], group[64], err[256] = "";
		const char *bad;

		config_init(&c);
		c.kernel = strdup("/k");
		snprintf(disk, sizeof(disk), "%s", cases[i].disk);
		cr_assert_eq(config_opt_disk(&c, disk, &bad), 0, "case %u", i);
		if (cases[i].group) {
			snprintf(group, sizeof(group), "%s", cases[i].group);
			cr_assert_eq(config_opt_rl_group(&c, group, &bad), 0, "case %u", i);
		}
		config_link_rl_groups(&c);
		cr_expect_eq(config_validate(&c, err, sizeof(err)), -EINVAL, "case %u", i);
		cr_expect_str_eq(err, cases[i].msg, "case %u", i);
		config_free(&c);
	}
}

/* size 0 is no limit, whatever the refill time; a removed disk leaves its group behind. */
Test(config, rate_limit_size_zero_and_removal)
{
	struct vmm_config c;

	cr_assert_eq(parse(&c, ARGV("--kernel", "/k",
		"--disk", "path=/a,id=a,bw_size=0,bw_refill_time=0,ops_size=0",
		"--disk", "path=/b,id=b,rate_limit_group=g",
		"--rate-limit-group", "id=g,ops_size=10,ops_refill_time=100")), CLI_RUN);
	cr_assert(!rl_config_enabled(&c.disks[0].rate_limit));
	cr_assert_eq(config_remove_device(&c, "a"), 0);
	cr_assert_str_eq(c.disks[0].rate_limit_group, "g");
	cr_assert_eq(c.disks[0].group_limits.ops.size, 10);
	cr_assert_eq(c.nr_rl_groups, 1);
	config_free(&c);
}
