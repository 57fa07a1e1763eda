/*
 * libFuzzer target for the x86_64 kernel loaders (bzImage and PVH ELF):
 * arbitrary bytes as the kernel file, with a fuzzed initramfs size and
 * command line, loaded into a small guest.  The loader must refuse or load,
 * never read outside the buffer or write outside guest RAM (ASan watches
 * both: guest RAM is the only mapping it may touch).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "guest_mem.h"
#include "log.h"

static struct guest_mem gm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gm_region l[] = { { .gpa = 0, .size = 64 << 20 } };

	(void)argc;
	(void)argv;
	log_threshold = LOG_QUIET;	/* refusals are expected */
	return gm_create(&gm, l, 1) ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x86_boot_in in = { 0 };
	struct x86_boot_out out;
	static uint8_t initrd[1 << 16];
	char cmdline[64];
	size_t clen;

	if (size < 2)
		return 0;
	/* Byte 0: initramfs size class; byte 1: command line length. */
	in.initrd = (data[0] & 1) ? initrd : NULL;
	in.initrd_len = (data[0] & 1) ? ((size_t)data[0] << 8) : 0;
	clen = data[1] % sizeof(cmdline);
	memset(cmdline, 'a', clen);
	cmdline[clen] = '\0';
	in.cmdline = cmdline;
	in.rsdp_gpa = 0xe0000;
	in.kernel = data + 2;
	in.kernel_len = size - 2;
	x86_load_kernel(&gm, &in, &out);
	return 0;
}
