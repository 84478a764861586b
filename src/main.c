/*
 * main.c - the command table. Only this file calls exit(); commands return a
 * sysexits code (see tilepaint(1), EXIT STATUS).
 */
#include "commands.h"
#include "exit.h"
#include "engines/engine.h"

#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
} commands[] = {
	{ "run", cmd_run, "run [OPTIONS] INPUT... -o DIR" },
	{ "inpaint", cmd_inpaint, "inpaint [OPTIONS] IMAGE MASK OUTPUT" },
	{ "status", cmd_status, "status (-o DIR | --db FILE...) [--format table|csv|json]" },
	{ "report", cmd_report, "report (-o DIR | --db FILE...) [--run N] [--format table|csv|json|html] [--out FILE]" },
	{ "forget", cmd_forget, "forget (-o DIR | --db FILE) (PATH... | --failed)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tilepaint COMMAND [OPTIONS] ...\n\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  tilepaint %s\n", commands[i].synopsis);
	fprintf(f, "  tilepaint --help | --version | --exit-codes\n\nengines:\n");
	for (size_t i = 0; engine_list[i]; i++)
		fprintf(f, "  %-9s %s\n", engine_list[i]->name, engine_list[i]->summary);
	fprintf(f, "\n'tilepaint COMMAND --help' for a command's options; man tilepaint for the rest.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return TP_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return TP_EXIT_OK;
	}
	if (!strcmp(argv[1], "--exit-codes")) {
		tp_exit_print(stdout);
		return TP_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("tilepaint %s\n", TP_VERSION);
		return TP_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "tilepaint: error: unknown command '%s'\ntry 'tilepaint --help'\n", argv[1]);
	return TP_EXIT_USAGE;
}
