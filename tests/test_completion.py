"""Shell completion: the checked-in scripts, bash's completion function run for real, the
zsh/fish answer formats, and that a TAB never imports httpx (nor rich).

bash runs the script from completions/ in a subprocess, with the venv's bin first on PATH
(the script calls `gemini-cli` back for candidates) and GEMINI_CLI_HOME from conftest.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer.main

from gemini_cli.cli import shell_complete as completion
from gemini_cli.app import app
from gemini_cli.state.conversation import Conversation
from gemini_cli.state.store import ConversationStore, dumps, write_atomic
from conftest import run_checked as run

REPO = Path(__file__).resolve().parent.parent
FILES = {"bash": "gemini-cli.bash", "zsh": "_gemini-cli", "fish": "gemini-cli.fish"}
BIN = Path(sys.executable).parent

# (id, title, updated): listed newest first
SAVED = [
    ("cab9990000002", "Review: the diff", "2026-01-03T10:00:00.000Z"),
    ("cfe0000000003", "Colours\nand more", "2026-01-02T10:00:00.000Z"),
    ("cab1230000001", "Plan the trip", "2026-01-01T10:00:00.000Z"),
]
IDS = [s[0] for s in SAVED]


@pytest.fixture
def saved(home):
    store = ConversationStore()
    for cid, title, updated in SAVED:
        conv = Conversation.new("gemini-3-flash-preview", True)
        conv.id, conv.title, conv.updated = cid, title, updated
        write_atomic(store.new_path(conv), dumps(conv))
    return IDS


def env_with_bin() -> dict[str, str]:
    assert (BIN / "gemini-cli").exists(), f"the gemini-cli console script is not in {BIN}: pip install -e ."
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def bash_complete(*words: str, cword: int | None = None, call: str = "_gemini_cli_completion gemini-cli",
                  comp_type: int = 9, columns: int = 80) -> list[str]:
    """COMPREPLY after bash's completion function for `gemini-cli WORDS...` (cursor on the last word);
    comp_type 9 is a TAB that completes, 63 the second TAB that lists the candidates."""
    words = ("gemini-cli", *words)
    cword = len(words) - 1 if cword is None else cword
    script = (
        f"source {shlex.quote(str(REPO / 'completions' / FILES['bash']))}\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); COMP_CWORD={cword}\n"
        f"COMP_TYPE={comp_type}; COLUMNS={columns}\n"
        f"{call}\n"
        'if (( ${#COMPREPLY[@]} )); then printf "%s\\n" "${COMPREPLY[@]}"; fi\n'
    )
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], env=env_with_bin(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def ask(shell: str, words: str, cword: str, *extra: str) -> subprocess.CompletedProcess:
    """Run gemini-cli as a completion script does, and return its answer."""
    env = dict(env_with_bin(), COMP_WORDS=words, COMP_CWORD=cword, _GEMINI_CLI_COMPLETE=f"{shell}_complete")
    return subprocess.run([sys.executable, *extra, "-m", "gemini_cli"], env=env, capture_output=True, text=True, timeout=60)


def imported_modules(stderr: str) -> set[str]:
    """Module names from `python -X importtime` output."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:") and "|" in line}


def set_aliases(home: Path, yaml_text: str) -> None:
    with open(home / "config.yaml", "a") as f:
        f.write(yaml_text)


# -- the generated files --------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_checked_in_script_is_what_completion_prints(shell):
    """Fails when completions/ is stale: regenerate with `gemini-cli completion SHELL > FILE`."""
    printed = run(["completion", shell])
    assert printed.exit_code == 0, printed.stderr
    assert printed.stdout.startswith("#")
    assert (REPO / "completions" / FILES[shell]).read_text() == printed.stdout, (
        f"completions/{FILES[shell]} is stale: python -m gemini_cli completion {shell} > completions/{FILES[shell]}")


def test_source_request_prints_the_same_script():
    env = dict(env_with_bin(), _GEMINI_CLI_COMPLETE="zsh_source")
    proc = subprocess.run([sys.executable, "-m", "gemini_cli"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout == (REPO / "completions" / "_gemini-cli").read_text()
    assert proc.stdout.startswith("#compdef gemini-cli\n")  # first line, for zsh's $fpath autoload


def test_completion_of_unknown_shell_is_a_usage_error():
    result = run(["completion", "tcsh"])
    assert result.exit_code == 2
    assert "tcsh" in result.stderr
    assert result.stdout == ""


def test_unknown_completion_request_exits_2():
    proc = ask("tcsh", "gemini-cli ", "1")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "unknown completion request 'tcsh_complete'" in proc.stderr


# -- bash: commands and options ------------------------------------------------------------


def test_bash_offers_every_visible_subcommand():
    group = typer.main.get_command(app)
    with group.make_context("gemini-cli", [], resilient_parsing=True) as ctx:
        visible = [name for name in group.list_commands(ctx) if not group.get_command(ctx, name).hidden]
    assert {"generate", "chat", "history", "completion"} <= set(visible)
    assert bash_complete("") == visible


def test_bash_completes_a_subcommand_prefix_without_arguments_to_the_function():
    # called as in the issue: no $1; the script falls back to running `gemini-cli`
    assert bash_complete("gen", call="_gemini_cli_completion") == ["generate"]
    assert bash_complete("comp") == ["completion"]


def test_bash_completes_options():
    assert bash_complete("generate", "--max-") == ["--max-tokens", "--max-tool-calls", "--max-time"]
    assert bash_complete("chat", "--thi") == ["--thinking"]
    assert bash_complete("generate", "--th") == ["--thinking", "--thoughts"]


def test_bash_completes_choices():
    assert bash_complete("generate", "--thinking", "") == ["minimal", "low", "medium", "high", "xhigh"]
    assert bash_complete("chat", "--thinking", "m") == ["minimal", "medium"]
    assert bash_complete("generate", "-o", "j") == ["json", "jsonl"]
    assert bash_complete("completion", "") == ["bash", "zsh", "fish"]


def test_bash_leaves_paths_to_the_shell():
    # a Path option answers "file,": the script clears COMPREPLY and lets bash complete files
    assert bash_complete("generate", "--system-file", "") == []
    proc = ask("bash", "gemini-cli generate --system-file rep", "3")
    assert proc.stdout == "file,rep\n"


# -- conversation ids -------------------------------------------------------------------------


def test_bash_completes_cid_newest_first(saved):
    assert bash_complete("generate", "--cid", "") == IDS
    assert bash_complete("generate", "--cid", "cab") == ["cab9990000002", "cab1230000001"]
    assert bash_complete("generate", "--cid", "cab1") == ["cab1230000001"]
    assert bash_complete("chat", "--cid", "cf") == ["cfe0000000003"]
    assert bash_complete("generate", "--cid", "zz") == []
    assert bash_complete("generate", "-m", "gemini-2.5-pro", "--cid", "cab9") == ["cab9990000002"]


def test_bash_lists_conversation_ids_with_their_titles_one_a_line(saved):
    # the second TAB lists: `id  title`, as wide as the screen (so one a line), cut with "…"
    assert bash_complete("generate", "--cid", "", comp_type=63, columns=30) == [
        "cab9990000002  Review: the …",
        "cfe0000000003  Colours and …",
        "cab1230000001  Plan the trip",
    ]
    assert bash_complete("history", "show", "cab", comp_type=63, columns=40) == [
        "cab9990000002  Review: the diff".ljust(38), "cab1230000001  Plan the trip".ljust(38)]
    # one candidate, or a TAB that inserts text: the bare id
    assert bash_complete("generate", "--cid", "cab1", comp_type=63) == ["cab1230000001"]
    assert bash_complete("generate", "--cid", "cab", comp_type=9) == ["cab9990000002", "cab1230000001"]
    # candidates without help are listed bare
    assert bash_complete("generate", "--thinking", "m", comp_type=63) == ["minimal", "medium"]


def test_a_title_is_shown_not_obeyed_by_the_terminal(home):
    store = ConversationStore()
    for cid, title in (("aa10000000001", "\x1b]52;c;aGk=\x07steal"), ("aa20000000002", "plain")):
        conv = Conversation.new("gemini-3-flash-preview", True)
        conv.id, conv.title = cid, title
        write_atomic(store.new_path(conv), dumps(conv))
    listed = bash_complete("history", "show", "aa", comp_type=63, columns=40)
    assert sorted(entry.rstrip() for entry in listed) == ["aa10000000001  ^[]52;c;aGk=^Gsteal", "aa20000000002  plain"]
    assert "^[]52" in ask("zsh", "gemini-cli history show aa1", "3").stdout


@pytest.mark.parametrize("sub", ["show", "export", "delete"])
def test_bash_completes_history_ids(saved, sub):
    assert bash_complete("history", sub, "cab") == ["cab9990000002", "cab1230000001"]
    assert bash_complete("history", sub, "") == IDS


def test_cid_completion_uses_and_refreshes_the_index(saved, home):
    assert bash_complete("generate", "--cid", "cab1") == ["cab1230000001"]
    assert (home / "conversations" / ".index.json").is_file()
    conv = Conversation.new("gemini-3-flash-preview", True)
    conv.id, conv.title = "cab1239999999", "later"
    write_atomic(ConversationStore().new_path(conv), dumps(conv))  # newest now
    assert bash_complete("generate", "--cid", "cab1") == ["cab1239999999", "cab1230000001"]


def test_no_conversations_no_candidates(home):
    assert bash_complete("generate", "--cid", "") == []


def test_a_broken_store_offers_nothing_and_prints_nothing(home):
    (home / "conversations").write_text("not a folder")
    proc = ask("bash", "gemini-cli generate --cid ", "3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


# -- models ------------------------------------------------------------------------------------


def builtin_aliases() -> list[str]:
    from gemini_cli.state import config

    return list(getattr(config, "BUILTIN_ALIASES", {}))


def test_bash_completes_model_ids():
    assert bash_complete("generate", "-m", "gemini-3.") == ["gemini-3.1-pro-preview", "gemini-3.1-flash-lite", "gemini-3.5-flash"]
    assert bash_complete("chat", "--model", "gemma") == ["gemma-4-31b-it", "gemma-4-26b-a4b-it"]


def test_bash_completes_model_aliases_from_the_config_first(home):
    set_aliases(home, "aliases:\n  quick: gemini-3.1-flash-lite\n  gemmy: gemma-4-31b-it\n")
    expected = ["quick", "gemmy"] + [a for a in builtin_aliases() if a not in ("quick", "gemmy")] + list(completion.MODELS)
    assert bash_complete("generate", "--model", "") == expected
    assert bash_complete("generate", "-m", "gem") == ["gemmy"] + [m for m in completion.MODELS if m.startswith("gem")]


def test_bash_splits_model_equals_value():
    # bash breaks `--model=gemini-f` into `--model`, `=`, `gemini-f`
    assert bash_complete("generate", "--model", "=", "gemini-f") == ["gemini-flash-latest", "gemini-flash-lite-latest"]
    assert bash_complete("generate", "--model=gemini-f") == ["gemini-flash-latest", "gemini-flash-lite-latest"]


def test_a_bad_config_still_completes_models(home):
    (home / "config.yaml").write_text("aliases: [unclosed\n")
    assert bash_complete("generate", "-m", "gemini-3.1") == ["gemini-3.1-pro-preview", "gemini-3.1-flash-lite"]


def test_model_aliases_help_names_the_target(home):
    set_aliases(home, "aliases:\n  quick: gemini-3.1-flash-lite\n")
    assert ("quick", "alias for gemini-3.1-flash-lite") in completion.complete_model(incomplete="qu")


# -- profiles, templates, paths ----------------------------------------------------------------


def test_bash_completes_profiles_from_the_config(home):
    set_aliases(home, "profiles:\n  work:\n    model: gemini-2.5-pro\n  home: {}\n  writer:\n    temperature: 1.2\n")
    assert bash_complete("generate", "--profile", "") == ["work", "home", "writer"]
    assert bash_complete("chat", "--profile", "w") == ["work", "writer"]
    assert ask("zsh", "gemini-cli generate --profile wo", "3").stdout.splitlines() == ["plain", "work", "model gemini-2.5-pro"]


def test_bash_completes_mcp_server_names_from_the_config(home):
    set_aliases(home, "mcpServers:\n  fs:\n    command: npx\n  web:\n    url: https://x.example/mcp\n")
    assert bash_complete("generate", "--mcp-allow", "") == ["fs:", "web:"]
    assert bash_complete("batch", "--mcp-header", "w") == ["web:"]


def test_bash_completes_template_names(home):
    folder = home / "templates"
    folder.mkdir()
    for name in ("review.yaml", "summarize.yml", ".hidden.yaml", "notes.txt"):
        (folder / name).write_text("prompt: x\n")
    (folder / "dir.yaml").mkdir()
    assert bash_complete("generate", "-t", "") == ["review", "summarize"]
    assert bash_complete("chat", "--template", "s") == ["summarize"]


@pytest.mark.parametrize("words, cword, answer", [
    ("gemini-cli generate -a ph", "3", "file,ph"),  # attachments are files (or URLs)
    ("gemini-cli generate --session ", "3", "file,"),
    ("gemini-cli generate -t ./my", "3", "file,./my"),  # a template by path
    ("gemini-cli history show ~/saved/c", "3", "file,~/saved/c"),  # ID|FILE: a path
    ("gemini-cli upload ", "2", "file,"),
])
def test_paths_are_left_to_the_shell(home, words, cword, answer):
    proc = ask("bash", words, cword)
    assert (proc.returncode, proc.stdout) == (0, answer + "\n")


def all_parameters():
    """(command path, click parameter) for every command of the app, loading the lazy ones."""
    group = typer.main.get_command(app)
    out = []

    def walk(command, path, ctx):
        out.extend((path, param) for param in command.params)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                with sub.make_context(name, [], parent=ctx, resilient_parsing=True) as sub_ctx:
                    walk(sub, f"{path} {name}", sub_ctx)

    with group.make_context("gemini-cli", [], resilient_parsing=True) as ctx:
        walk(group, "gemini-cli", ctx)
    return out


def test_every_path_parameter_leaves_completion_to_the_shell():
    # Typer's own Path type answers nothing on TAB; a Path parameter needs click_type=opt.PATH
    # (or opt.FOLDER for a folder)
    params = [(path, p) for path, p in all_parameters() if isinstance(p.type, click.Path)]
    assert {p.name for _, p in params} >= {"system_file", "session", "files", "media_dir"}
    with click.Context(click.Command("x")) as ctx:
        for path, param in params:
            kind = "dir" if param.name == "media_dir" else "file"
            assert [(i.type, i.value) for i in param.shell_complete(ctx, "rep")] == [(kind, "rep")], (path, param.name)


def test_nothing_to_offer_is_an_empty_answer(saved):
    assert ask("bash", "gemini-cli generate ", "2").stdout == ""  # PROMPT
    assert ask("bash", "gemini-cli history show zz", "3").stdout == ""  # no such id, not a path


# -- zsh and fish answers (the scripts read these; the shells are not needed here) -------------


def test_zsh_answer_has_type_value_and_help_lines(saved):
    proc = ask("zsh", "gemini-cli generate --cid cab", "3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "plain", "cab9990000002", "Review: the diff",
        "plain", "cab1230000001", "Plan the trip",
    ]
    lines = ask("zsh", "gemini-cli generate --thinking ", "3").stdout.splitlines()
    assert lines == ["plain", "minimal", "_", "plain", "low", "_", "plain", "medium", "_", "plain", "high", "_", "plain", "xhigh", "_"]


def test_fish_answer_has_value_tab_help(saved):
    # fish passes the line up to the cursor and the current token itself
    proc = ask("fish", "gemini-cli history show c", "c")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "plain,cab9990000002\tReview: the diff",
        "plain,cfe0000000003\tColours and more",
        "plain,cab1230000001\tPlan the trip",
    ]
    assert ask("fish", "gemini-cli generate -o ", "").stdout.splitlines() == ["plain,text", "plain,json", "plain,jsonl"]


def test_zsh_and_fish_keep_the_option_of_an_equals_word():
    # they replace the whole word `--model=gemini-f`, so candidates carry the `--model=`
    zsh = ask("zsh", "gemini-cli generate --model=gemini-f", "2").stdout.splitlines()
    assert zsh == ["plain", "--model=gemini-flash-latest", "_", "plain", "--model=gemini-flash-lite-latest", "_"]
    fish = ask("fish", "gemini-cli chat --thinking=m", "--thinking=m").stdout.splitlines()
    assert fish == ["plain,--thinking=minimal", "plain,--thinking=medium"]


def test_an_eager_option_prints_nothing_into_the_answer():
    lines = ask("zsh", "gemini-cli --version gen", "2").stdout.splitlines()
    assert lines == ["plain", "generate", lines[2]]
    assert "0.1" not in "".join(lines)


# -- start-up cost ---------------------------------------------------------------------------


def test_help_does_not_import_httpx():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gemini_cli", "--help"],
                          env=env_with_bin(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    modules = imported_modules(proc.stderr)
    assert "gemini_cli.app" in modules
    assert not {m for m in modules if m.split(".")[0] == "httpx"}


@pytest.mark.parametrize("words", ["gemini-cli generate --cid ", "gemini-cli chat -m ", "gemini-cli history show ", "gemini-cli "])
def test_a_completion_request_imports_neither_httpx_nor_rich(saved, home, words):
    set_aliases(home, "aliases:\n  quick: gemini-3.1-flash-lite\n")  # so yaml is read too
    proc = ask("bash", words, str(len(words.split())), "-X", "importtime")
    assert proc.returncode == 0
    assert proc.stdout  # it did answer
    modules = imported_modules(proc.stderr)
    assert "gemini_cli.cli.shell_complete" in modules
    assert not {m for m in modules if m.split(".")[0] in ("httpx", "httpx_sse", "rich", "pydantic")}


def test_completion_uses_only_clicks_public_api():
    # typer._click is Typer's private copy of click (typer >= 0.26); _resolve_* are click's internals
    private = ("typer._click", "_resolve_context", "_resolve_incomplete")
    found = [(path.name, name) for path in (REPO / "gemini_cli").rglob("*.py")
             for name in private if name in path.read_text(encoding="utf-8")]
    assert found == []
