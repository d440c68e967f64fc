/*
 * fuzz_url.c — libFuzzer target: server URL validation.
 *
 * The check is static in options.c (url_ok, url_has_userinfo), so this
 * target includes options.c (see fuzz_options_common.h) and calls them
 * directly on the input as a C string, then once more through the option
 * parser as `mbfs URL /mnt` so that the trimming and the messages that
 * echo a refused URL run too.
 *
 * Invariants: a URL the validator accepts starts with http:// or https://,
 * holds no blank or control character and no user:password@; the parser
 * agrees with the validator (a URL it refuses never mounts).
 */
#include "fuzz_options_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_options_setup();
	fuzz_config_write(NULL, 0, 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *u = fuzz_cstr(data, size);
	bool userinfo = url_has_userinfo(u);
	bool ok = url_ok(u);
	if (ok) {
		FUZZ_ASSERT(strncmp(u, "http://", 7) == 0 ||
			    strncmp(u, "https://", 8) == 0);
		FUZZ_ASSERT(!userinfo);
		for (const char *c = u; *c; c++)
			FUZZ_ASSERT((unsigned char)*c > ' ' && *c != 0x7f);
	}
	char *argv[] = {(char *)"mbfs", u, (char *)"/mnt", NULL};
	enum mbfs_options_result r = fuzz_parse(3, argv);
	/* an argument starting with '-' is an option, not the URL */
	if (u[0] != '-' && !ok)
		FUZZ_ASSERT(r != MBFS_OPTIONS_RUN);
	free(u);
	return 0;
}
