/*
 * commands.h - the commands main.c dispatches to. Each returns a sysexits
 * code (exit.h); only main() exits.
 */
#ifndef TP_COMMANDS_H
#define TP_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_inpaint(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_forget(int argc, char **argv);

#endif
