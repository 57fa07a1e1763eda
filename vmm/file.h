/*
 * Read-only whole-file mappings for kernels, initramfs images and firmware
 * tables that kvmm copies into guest RAM.
 */
#ifndef KVMM_FILE_H
#define KVMM_FILE_H

#include <stddef.h>
#include <stdint.h>

struct file_map {
	const uint8_t *data;
	size_t len;
};

/*
 * Maps PATH read-only.  WHAT names the file in error messages ("kernel").
 * A missing, unreadable, non-regular or empty file is refused with a
 * message; returns 0/-errno.
 */
int file_map(const char *path, const char *what, struct file_map *fm);
void file_unmap(struct file_map *fm);

#endif
