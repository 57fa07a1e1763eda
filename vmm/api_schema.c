/*
 * The schema walker behind api_config.c: parses a JSON body, then checks it against the
 * schema tables (unknown fields, types, ranges, ignored, default-only and refused fields)
 * before the map_*() functions read it, and writes the errors with the path of the value
 * at fault ("disks[1].path: missing").  The tables' form is in api_schema.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api_schema.h"

size_t schema_push(struct ctx *x, const char *key, size_t idx)
{
	size_t old = x->len, room = sizeof(x->path) - old;
	int n = key ? snprintf(x->path + old, room, "%s%s", old ? "." : "", key)
		    : snprintf(x->path + old, room, "[%zu]", idx);

	x->len = n < 0 || (size_t)n >= room ? sizeof(x->path) - 1 : old + (size_t)n;
	return old;
}

void schema_pop(struct ctx *x, size_t old)
{
	x->len = old;
	x->path[old] = '\0';
}

/* Writes "<path>: <message>" and returns -EINVAL. */
int schema_fail(struct ctx *x, const char *fmt, ...)
{
	int n = snprintf(x->err, x->errlen, "%s: ", x->path);
	va_list ap;

	if (n >= 0 && (size_t)n < x->errlen) {
		va_start(ap, fmt);
		vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int check_obj(json_t *obj, const struct schema *s, struct ctx *x);

static int check_type(json_t *v, unsigned int type, const struct field *f, struct ctx *x)
{
	static const char *const what[] = { "", "a string", "true or false",
		"a non-negative integer", "an object", "an array" };
	bool ok = type == T_ANY || (type == T_STR && json_is_string(v)) ||
		  (type == T_BOOL && json_is_boolean(v)) || (type == T_OBJ && json_is_object(v)) ||
		  (type == T_ARR && json_is_array(v)) ||
		  (type == T_UINT && json_is_integer(v) && json_integer_value(v) >= 0);
	json_int_t i = json_integer_value(v);

	if (!ok)
		return schema_fail(x, "expected %s", what[type]);
	if (type == T_UINT && f && (i < f->min || (f->max && i > f->max)))
		return schema_fail(x, "%" JSON_INTEGER_FORMAT " out of range %" JSON_INTEGER_FORMAT
				   "-%" JSON_INTEGER_FORMAT, i, f->min,
				   f->max ? f->max : (json_int_t)LLONG_MAX);
	return 0;
}

static int check_field(json_t *v, const struct field *f, struct ctx *x)
{
	size_t i, old;
	json_t *item;

	if (json_is_null(v))
		return 0;
	if (f->rule == R_REFUSE)
		return schema_fail(x, "%s", f->why);
	if (check_type(v, f->type, f, x))
		return -EINVAL;
	if (f->rule == R_DEFAULT &&
	    (f->type == T_BOOL ? json_is_true(v) != !!f->def
	     : f->type == T_STR ? !f->sdef || strcmp(json_string_value(v), f->sdef)
	     : json_integer_value(v) != f->def))
		return schema_fail(x, "%s", f->why);
	if (f->rule == R_EMPTY && json_array_size(v))
		return schema_fail(x, "%s", f->why);
	if (f->type == T_OBJ && f->sub)
		return check_obj(v, f->sub, x);
	json_array_foreach(f->type == T_ARR ? v : NULL, i, item) {
		old = schema_push(x, NULL, i);
		if (check_type(item, f->item, NULL, x) ||
		    (f->sub && check_obj(item, f->sub, x)))
			return -EINVAL;
		schema_pop(x, old);
	}
	return 0;
}

static int check_obj(json_t *obj, const struct schema *s, struct ctx *x)
{
	const char *key;
	unsigned int i;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t old = schema_push(x, key, 0);

		for (i = 0; i < s->n && strcmp(s->f[i].name, key); i++)
			;
		if (i == s->n) {
			snprintf(x->err, x->errlen, "unknown field '%s'", x->path);
			return -EINVAL;
		}
		if (check_field(v, &s->f[i], x))
			return -EINVAL;
		schema_pop(x, old);
	}
	return 0;
}

json_t *schema_parse(const char *json, size_t len, const struct schema *s, struct ctx *x)
{
	json_error_t e;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);

	if (!root) {
		snprintf(x->err, x->errlen, "invalid JSON: %s (line %d, column %d)", e.text,
			 e.line, e.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(x->err, x->errlen, "invalid JSON: expected an object");
	} else if (!check_obj(root, s, x)) {
		return root;
	}
	json_decref(root);
	return NULL;
}
