/* Bump allocator for per-page data: everything parsed from one page is freed
 * as one unit after its batch is written. The arena owns all its blocks. */
#ifndef ESPSYNC_ARENA_H
#define ESPSYNC_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head;
	size_t total_bytes;
};

#define ARENA_INIT                                                             \
	{                                                                      \
		NULL, 0                                                        \
	}

void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s); /* NULL stays NULL */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees every block; the arena can be reused. */
void arena_release(struct arena *a);

#endif
