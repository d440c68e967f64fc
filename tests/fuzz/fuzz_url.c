/*
 * fuzz_url.c — libFuzzer target: server URL validation
 * (mbfs_options_url_check), directly on the input as a C string with
 * every size of message buffer, then through the option parser as
 * `mbfs URL /mnt` (trimming, the refusal messages).
 *
 * Invariants: an accepted URL is http:// or https://, at most MBFS_URL_MAX
 * bytes, without blanks, control characters, user:password@, a query, a
 * fragment, ',' or '\'; a refused one gets a terminated message that fits
 * its buffer; the parser never mounts a URL the check refuses.
 */
#include "fuzz_options_env.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_options_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *u = fuzz_cstr(data, size);
	static const size_t sizes[] = {1, 2, 40, 200, 4096};
	char why[4096];
	bool ok = false;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		memset(why, 'x', sizeof why);
		bool r = mbfs_options_url_check(u, why, sizes[i]);
		if (i == 0)
			ok = r;
		FUZZ_ASSERT(r == ok); /* the verdict does not depend on why */
		if (!r)
			FUZZ_ASSERT(fuzz_terminated(why, sizes[i]));
	}
	FUZZ_ASSERT(!mbfs_options_url_check(u, NULL, 0) == !ok);
	if (ok) {
		FUZZ_ASSERT(strncmp(u, "http://", 7) == 0 ||
			    strncmp(u, "https://", 8) == 0);
		FUZZ_ASSERT(strlen(u) <= MBFS_URL_MAX);
		const char *auth = strstr(u, "://") + 3;
		size_t alen = strcspn(auth, "/");
		FUZZ_ASSERT(memchr(auth, '@', alen) == NULL);
		for (const char *c = u; *c; c++)
			FUZZ_ASSERT((unsigned char)*c > ' ' && *c != 0x7f &&
				    *c != ',' && *c != '\\' && *c != '?' &&
				    *c != '#');
	}
	char *argv[] = {(char *)"mbfs", u, (char *)"/mnt", NULL};
	enum mbfs_options_result r = fuzz_parse(3, argv);
	/* an argument starting with '-' is an option, not the URL */
	if (u[0] != '-' && !ok)
		FUZZ_ASSERT(r != MBFS_OPTIONS_RUN);
	free(u);
	return 0;
}
