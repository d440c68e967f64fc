/*
 * fuzz_http_header.c — libFuzzer target: response header lines as curl
 * hands them to mbfs (mb_http.h mb_http_parse_header): the input cut into
 * lines at every "\n" (each kept with its newline, in an exact-size buffer
 * without terminator), fed in order to one request.
 *
 * Invariants: content_type stays terminated inside its array; retry_after
 * is -1 or >= 0; a status line resets content_type and retry_after.
 */
#include "fuzz_util.h"

#include <stdbool.h>

#include "mb_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_http_req req;
	memset(&req, 0, sizeof req);
	req.retry_after = -1;
	const uint8_t *p = data, *end = data + size;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl + 1 : end) - p);
		char *line = fuzz_dup(p, len);
		mb_http_parse_header(&req, line, len);
		FUZZ_ASSERT(memchr(req.content_type, '\0',
				   sizeof req.content_type) != NULL);
		FUZZ_ASSERT(req.retry_after >= -1);
		if (len > 5 && memcmp(line, "HTTP/", 5) == 0)
			FUZZ_ASSERT(req.content_type[0] == '\0' &&
				    req.retry_after == -1);
		free(line);
		p = nl ? nl + 1 : end;
	}
	return 0;
}
