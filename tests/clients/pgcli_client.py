"""pgcli against a running `cip serve`, two ways.

1. Its completion refresher, the code that runs in the background when pgcli starts: it reads
   the search path, schemata, tables, views and their columns (pg_attribute with
   `atttypid::regtype::text` and pg_attrdef), foreign keys (`unnest(confkey)` with
   `generate_subscripts`), functions (`proargtypes::regtype[]::text[]`, prokind) and data types.
   If one of those statements fails the refresh thread dies silently and pgcli completes
   nothing, so the completer it builds must offer the tables, views, their columns and cip's
   functions. pgspecial's \\dt, \\dv, \\df and \\d run through pgcli's executor.
2. The real program in a terminal (tmux): a query typed at its prompt prints its rows, and Tab
   after `FROM cust` offers customer_segments.

Usage: python3 pgcli_client.py PORT. Exits non-zero on the first failed check.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from pgcli.completion_refresher import CompletionRefresher
from pgcli.pgexecute import PGExecute
from pgspecial.main import PGSpecial
from prompt_toolkit.document import Document

PORT = sys.argv[1]


def completer_of(executor, special):
    built = []
    refresher = CompletionRefresher()
    refresher.refresh(executor, special, built.append, settings={"single_connection": True})
    refresher._completer_thread.join(180)
    assert built, "pgcli's completion refresh died (its exception is printed above)"
    return built[0]


def completions(completer, text, cursor=None):
    doc = Document(text, len(text) if cursor is None else cursor)
    return {c.text for c in completer.get_completions(doc, None)}


def check_completion(executor, special):
    completer = completer_of(executor, special)
    relations = completions(completer, "SELECT * FROM ")
    for name in ["members", "visits", "customer_segments", "customer_tags", "segment_summary"]:
        assert name in relations, f"{name} not offered after FROM: {sorted(relations)[:40]}"
    columns = completions(completer, "SELECT  FROM members", cursor=len("SELECT "))
    for name in ["member_id", "points"]:
        assert name in columns, f"column {name} of members not offered: {sorted(columns)[:40]}"
    view_columns = completions(completer, "SELECT  FROM customer_segments", cursor=len("SELECT "))
    assert "segment_id" in view_columns, sorted(view_columns)[:40]
    functions = completions(completer, "SELECT bgnbd_")
    assert any(f.startswith("bgnbd_p_alive") for f in functions), sorted(functions)
    assert any(f.startswith("bgnbd_fit") for f in functions), sorted(functions)
    print(
        f"completion: {len(relations)} after FROM, {len(columns)} for members' columns, "
        f"{len(functions)} bgnbd_ functions"
    )


def special(executor, special, command):
    results = list(executor.run(command, pgspecial=special))
    assert results, command
    title, cur, headers, status, sql, success, is_special = results[0]
    assert success, f"{command}: {status}"
    return headers, list(cur or [])


def check_special_commands(executor, pgspecial):
    headers, rows = special(executor, pgspecial, "\\dt")
    assert any("members" in r for r in rows), rows
    headers, rows = special(executor, pgspecial, "\\dv")
    assert any("customer_segments" in r for r in rows), rows
    headers, rows = special(executor, pgspecial, "\\df bgnbd*")
    assert any("bgnbd_p_alive" in r for r in rows), rows
    headers, rows = special(executor, pgspecial, "\\d members")
    assert any("points" in r for r in rows), rows
    print("special commands: \\dt \\dv \\df \\d")


def tmux(*args):
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def wait_for(session, needle, seconds=60):
    deadline = time.time() + seconds
    screen = ""
    while time.time() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if needle in screen:
            return screen
        time.sleep(0.25)
    raise AssertionError(f"{needle!r} never appeared; the screen:\n{screen}")


def check_terminal():
    home = tempfile.mkdtemp()
    rc = os.path.join(home, "pgclirc")
    with open(rc, "w") as f:
        f.write("[main]\nkeyring = False\nenable_pager = False\nlog_file = %s\n" % os.path.join(home, "log"))
        f.write("history_file = %s\n" % os.path.join(home, "history"))
    pgcli = shutil.which("pgcli") or os.path.join(os.path.dirname(sys.executable), "pgcli")
    session = f"cip-pgcli-{os.getpid()}"
    command = (
        f"HOME={home} {pgcli} --pgclirc {rc} --less-chatty -w "
        f"-h 127.0.0.1 -p {PORT} -U cip -d cip"
    )
    tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50", command)
    try:
        wait_for(session, "cip@127.0.0.1:cip>")
        tmux("send-keys", "-t", session, "SELECT 40 + 2 AS answer_col", "Enter")
        wait_for(session, "answer_col")
        wait_for(session, "42")
        # The completer is refreshed in the background after connecting; Tab may need a retry.
        for _ in range(60):
            tmux("send-keys", "-t", session, "SELECT * FROM custo", "Tab")
            time.sleep(0.5)
            screen = tmux("capture-pane", "-p", "-t", session)
            if "customer_segments" in screen:
                break
            tmux("send-keys", "-t", session, "C-u")
            time.sleep(0.5)
        assert "customer_segments" in screen, f"no completion menu:\n{screen}"
        print("terminal: a query answered, Tab offered customer_segments")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def main():
    executor = PGExecute(
        database="cip", user="cip", password=None, host="127.0.0.1", port=PORT, dsn=None
    )
    pgspecial = PGSpecial()
    check_completion(executor, pgspecial)
    check_special_commands(executor, pgspecial)
    check_terminal()
    print("pgcli: ok")


if __name__ == "__main__":
    main()
