/*
 * fuzz_options.c — libFuzzer target: option and config parsing
 * (mbfs_options_parse, the config file reader, mbfs_config_get) and the
 * libfuse arguments built from the result (mbfs_session_fuse_args).
 *
 * Input: byte 0 picks the config file's mode (none, 0600, 0640, 0644,
 * 0666, 0620 — private and not); the bytes up to the next NUL are the
 * config file; the rest, split at NULs, are the arguments after "mbfs"
 * (so "-o" and an arbitrary option string are two arguments). At most 40
 * arguments.
 *
 * Invariants (fuzz_parse): a parse that says "mount" has a URL that passes
 * mbfs_options_url_check, absolute paths, and every numeric option inside
 * its documented range; a refused config file gives no value; nothing
 * leaks whatever the outcome.
 */
/*
 * config.c keeps the config file in a static, loaded once per process.
 * To read a new file for every input, this target includes config.c
 * itself (its object in mbfs_core_fuzz is then not linked: every symbol
 * it defines is already defined here) and resets that static between
 * inputs; fuzz_config_reset() is the one place to follow a rename.
 */
#include "../../src/core/config.c"

#include "fuzz_options_env.h"

static void fuzz_config_reset(void)
{
	for (int i = 0; i < config.n; i++) {
		free(config.keys[i]);
		free(config.vals[i]);
	}
	memset(&config, 0, sizeof config);
}

/* Write (or remove, when text is NULL) the config file with mode, and make
 * config.c read it again on its next lookup. */
static void fuzz_config_write(const char *text, size_t len, mode_t mode)
{
	fuzz_config_reset();
	unlink(fuzz_config_path);
	if (!text)
		return;
	int fd = open(fuzz_config_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0600);
	if (fd < 0)
		abort();
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	fchmod(fd, mode);
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_options_setup();
	return 0;
}

#define MAX_ARGS 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mode_t modes[] = {0, 0600, 0640, 0644, 0666, 0620};
	if (size < 1)
		return 0;
	mode_t mode = modes[data[0] % (sizeof modes / sizeof modes[0])];
	data++;
	size--;
	const uint8_t *nul = memchr(data, 0, size);
	size_t clen = nul ? (size_t)(nul - data) : size;
	fuzz_config_write(mode ? (const char *)data : NULL, clen, mode);

	char *argv[MAX_ARGS + 2];
	int argc = 0;
	argv[argc++] = (char *)"mbfs";
	char *args = NULL;
	if (nul) {
		size_t alen = size - clen - 1;
		args = malloc(alen + 1);
		if (!args)
			abort();
		memcpy(args, data + clen + 1, alen);
		args[alen] = '\0';
		for (size_t off = 0; off <= alen && argc < MAX_ARGS + 1;) {
			argv[argc++] = args + off;
			off += strlen(args + off) + 1;
		}
	}
	argv[argc] = NULL;
	(void)fuzz_parse(argc, argv);

	/* every key the program looks up, after the parse loaded the file */
	static const char *const keys[] = {
		"url", "username", "password", "api_key", "session",
		"api_key_file", "password_file", "session_file", "formats",
		"cafile", "log_level", "cache_dir", "insecure", "",
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		bool refused;
		const char *v = mbfs_config_get(keys[i], &refused);
		if (v)
			(void)strlen(v);
		if (refused)
			FUZZ_ASSERT(v == NULL);
	}
	const char *refusal = mbfs_config_refusal();
	if (refusal)
		FUZZ_ASSERT(mbfs_config_get("url", NULL) == NULL);
	(void)mbfs_config_path();
	free(args);
	return 0;
}
