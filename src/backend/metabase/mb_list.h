/*
 * mb_list.h — a Metabase list endpoint's body → its decoded list (and its
 * array as text, for metadata/): what the `list` op of both Metabase
 * clients (mb_api.c, the fake) answers, so the core never decodes a
 * Metabase body itself.
 *
 * Memory: the caller owns what is decoded (mb_types.h destructors) and
 * the array text (free). Blocks as long as the body function does; no
 * lock of its own.
 */
#ifndef MBFS_MB_LIST_H
#define MBFS_MB_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "mb_client.h"
#include "status.h"

/* A client's raw list request: the 2xx body of `which`, streamed into
 * sink as it arrives (a sink that returns false aborts). */
typedef enum mbfs_status (*mb_list_body_fn)(struct mb_client *c,
					    enum mb_list which,
					    mb_sink_fn sink, void *sink_arg,
					    struct mbfs_err *err);

/* Everything the `list` op of mb_client.h promises, over body. */
enum mbfs_status mb_list_decode(struct mb_client *c, mb_list_body_fn body,
				enum mb_list which, void *out, char **array,
				size_t *array_len, size_t *count,
				struct mbfs_err *err);

#endif
