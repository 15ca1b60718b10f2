/* Replays a fuzz corpus without libFuzzer: every regular file under the
 * directories (or the files) named on the command line is passed to
 * LLVMFuzzerTestOneInput once. With no arguments the corpus is
 * tests/fuzz/corpus/<target>, the target being the binary name without its
 * "fuzz_" prefix. A crash or sanitizer report fails the run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t cap = 0, len = 0, n;

	if (!f) {
		fprintf(stderr, "replay: cannot open '%s'\n", path);
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			data = realloc(data, cap);
			if (!data) {
				fclose(f);
				return -1;
			}
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	/* An exact-size copy, so reads past the input trip ASan. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact) {
			free(data);
			return -1;
		}
		memcpy(exact, data, len);
		free(data);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

static int replay_path(const char *path, long *count)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: no such corpus '%s'\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (replay_file(path) < 0)
			return -1;
		(*count)++;
		return 0;
	}
	d = opendir(path);
	if (!d)
		return -1;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char sub[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rc = replay_path(sub, count);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	char dflt[4096];
	const char *base;
	long count = 0;
	int i, rc = 0;

	if (argc < 2) {
		base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		if (strncmp(base, "fuzz_", 5) == 0)
			base += 5;
		snprintf(dflt, sizeof(dflt), "tests/fuzz/corpus/%s", base);
		rc = replay_path(dflt, &count);
	}
	for (i = 1; i < argc && rc == 0; i++)
		rc = replay_path(argv[i], &count);
	if (rc == 0 && count == 0) {
		fprintf(stderr, "replay: empty corpus\n");
		rc = -1;
	}
	if (rc == 0)
		printf("%s: %ld inputs replayed\n", argv[0], count);
	return rc == 0 ? 0 : 1;
}
