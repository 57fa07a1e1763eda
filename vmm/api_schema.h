/*
 * Private to api_schema.c and api_config.c, not a public contract (that is api_config.h):
 * the schema tables the JSON bodies are checked against, and the walker that checks them and
 * builds the errors that name the field path ("disks[1].path: missing").
 */
#ifndef KVMM_API_SCHEMA_H
#define KVMM_API_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

enum jtype { T_ANY, T_STR, T_BOOL, T_UINT, T_OBJ, T_ARR };
enum rule {
	R_MAP,		/* read by a map_*() function */
	R_IGNORE,	/* accepted with any value of its type, without effect */
	R_DEFAULT,	/* accepted only with its default value DEF */
	R_EMPTY,	/* an array, accepted only empty */
	R_REFUSE,	/* refused whenever present */
};

struct schema;

struct field {
	const char *name;
	unsigned char type, rule;
	unsigned char item;		/* T_ARR: the items' type */
	const struct schema *sub;	/* T_OBJ, or T_ARR of T_OBJ: the object's fields */
	json_int_t min, max;		/* T_UINT range; max 0: any */
	json_int_t def;			/* R_DEFAULT: the boolean or integer default */
	const char *sdef;		/* R_DEFAULT of a T_STR: the one value accepted */
	const char *why;		/* R_DEFAULT, R_EMPTY, R_REFUSE: the refusal */
};

struct schema {
	const struct field *f;
	unsigned int n;
};

/* The error message and the path of the value being looked at ("disks[1].path"). */
struct ctx {
	char *err;
	size_t errlen;
	size_t len;
	char path[160];
};

/* Appends ".KEY" (no dot at the root), or "[IDX]" when KEY is NULL, to X's path; returns the
 * path's old length, for schema_pop(). */
size_t schema_push(struct ctx *x, const char *key, size_t idx);
/* Cuts X's path back to OLD, as it was before schema_push(). */
void schema_pop(struct ctx *x, size_t old);
/* Writes "<path>: <message>" into X's error buffer and returns -EINVAL. */
int schema_fail(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As schema_fail() for the member KEY of the object at the current path. */
#define bad(x, key, ...) ({ size_t o_ = schema_push(x, key, 0);			\
			    int r_ = schema_fail(x, __VA_ARGS__); schema_pop(x, o_); r_; })

/*
 * Parses the JSON object JSON (LEN bytes, need not be NUL-terminated) and checks it against S:
 * every field known, of its type, in its range and allowed by its rule.  Returns the root (the
 * caller json_decref()s it), or NULL with the message in X (invalid JSON, not an object, or
 * the first field that fails).
 */
json_t *schema_parse(const char *json, size_t len, const struct schema *s, struct ctx *x);

#endif
