"""Shell completion scripts for `archc`, written from the command line's own parser.

`archc completion bash|zsh|fish` prints one; since it is read off the argparse parser, a new
command or option completes as soon as it exists. Completed: command names, options, the
choices of an option or argument that has them, and `.arch` files where a command takes a spec
(other files for an option's value, such as ``-o``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")
# The options whose value is a file or folder; other values (a count, a name) complete to nothing.
PATH_VALUES = {"output", "root", "weights"}


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...]
    path: bool  # its value is a file or folder


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: tuple[Option, ...]
    positional_choices: tuple[str, ...]  # what the argument may be; none: a spec file


def commands(parser: argparse.ArgumentParser) -> list[Command]:
    """The subcommands of ``parser`` with their options, in the order `--help` lists them."""
    # argparse keeps its actions in `_actions`; completion generators all read them there
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {a.dest: a.help or "" for a in subparsers._choices_actions}
    found = []
    for name, command in subparsers.choices.items():
        options, positional = [], ()
        for action in command._actions:
            choices = tuple(str(c) for c in action.choices or ())
            if not action.option_strings:
                positional = positional or choices
                continue
            takes_value = action.nargs != 0
            path = takes_value and action.dest in PATH_VALUES
            options.append(
                Option(tuple(action.option_strings), action.help or "", takes_value, choices, path)
            )
        found.append(Command(name, helps.get(name, ""), tuple(options), positional))
    return found


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script for ``shell`` (one of :data:`SHELLS`)."""
    if shell == "fish":
        return _fish(parser.prog, commands(parser))
    bash = _bash(parser.prog, commands(parser))
    if shell == "zsh":  # zsh runs bash completion functions through bashcompinit
        return ZSH_PREAMBLE + bash
    return bash


# bashcompinit's `complete` needs compinit's `compdef`, which a .zshrc has usually loaded
ZSH_PREAMBLE = """(( $+functions[compdef] )) || { autoload -U +X compinit && compinit; }
autoload -U +X bashcompinit && bashcompinit
"""


def _words(words: list[str] | tuple[str, ...]) -> str:
    return " ".join(words)


def _bash(prog: str, found: list[Command]) -> str:
    function = f"_{prog}_complete"
    lines = [
        f'# {prog} completion for bash: eval "$({prog} completion bash)"',
        f"{function}() {{",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local command="" i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case "${COMP_WORDS[i]}" in',
        "            -*) ;;",
        '            *) command="${COMP_WORDS[i]}"; break ;;',
        "        esac",
        "    done",
        '    if [[ -z "$command" ]]; then',
        f'        COMPREPLY=($(compgen -W "{_words([c.name for c in found])} --help --version"'
        ' -- "$cur"))',
        "        return",
        "    fi",
        '    case "$command $prev" in',
    ]
    for command in found:
        for option in command.options:
            if not option.takes_value:
                continue
            if option.choices:
                reply = f'COMPREPLY=($(compgen -W "{_words(option.choices)}" -- "$cur"))'
            elif option.path:
                reply = 'COMPREPLY=($(compgen -f -- "$cur"))'
            else:
                reply = "COMPREPLY=()"
            for flag in option.flags:
                lines.append(f'        "{command.name} {flag}") {reply}; return ;;')
    lines += ["    esac", '    case "$command" in']
    for command in found:
        flags = _words([f for option in command.options for f in option.flags])
        if command.positional_choices:
            rest = f'compgen -W "{_words(command.positional_choices)}" -- "$cur"'
        else:
            rest = 'compgen -f -X \'!*.arch\' -- "$cur"; compgen -d -- "$cur"'
        lines.append(
            f'        {command.name}) if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W '
            f'"{flags}" -- "$cur")); else COMPREPLY=($({rest})); fi ;;'
        )
    lines += ["    esac", "}", f"complete -o filenames -F {function} {prog}", ""]
    return "\n".join(lines)


def _fish_quote(text: str) -> str:
    text = text.replace("%%", "%")  # argparse's escape in help strings
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(prog: str, found: list[Command]) -> str:
    names = _words([c.name for c in found])
    lines = [
        f"# {prog} completion for fish: {prog} completion fish | source",
        f"complete -c {prog} -f",
    ]
    for command in found:
        lines.append(
            f"complete -c {prog} -n 'not __fish_seen_subcommand_from {names}' "
            f"-a {command.name} -d {_fish_quote(command.help)}"
        )
    for command in found:
        seen = f"-n '__fish_seen_subcommand_from {command.name}'"
        if command.positional_choices:
            lines.append(
                f"complete -c {prog} {seen} -a {_fish_quote(_words(command.positional_choices))}"
            )
        else:
            lines.append(f"complete -c {prog} {seen} -a '(__fish_complete_suffix .arch)'")
        for option in command.options:
            parts = [f"complete -c {prog} {seen}"]
            for flag in option.flags:
                parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
            if option.choices:
                parts.append(f"-x -a {_fish_quote(_words(option.choices))}")
            elif option.path:
                parts.append("-r -F")
            elif option.takes_value:
                parts.append("-x")
            parts.append(f"-d {_fish_quote(option.help)}")
            lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"
