"""`batch INPUT -o OUTPUT --remote [--wait]`: the rows as Gemini Batch API jobs.

cli/batch.py reads the flags, INPUT and OUTPUT as for a local batch and hands over here;
runs/remote_submit.py builds and submits the jobs, runs/remote_fetch.py waits and fetches.
"""

from __future__ import annotations

from typing import Any

from gemini_cli.errors import ExitCode, GeminiCliError, UsageError
from gemini_cli.render.jobs import WaitProgress
from gemini_cli.runs import remote_submit
from gemini_cli.runs.connection import open_client
from gemini_cli.runs.remote_fetch import fetch_all
from gemini_cli.state import apikey, jobs


def remote_batch(settings: Any, console: Any, requests: Any, rows: Any, out: Any, *, input: str | None,
                 dry_run: bool, wait: bool, save: bool) -> None:
    if out.path is None:
        raise UsageError("--remote needs -o OUTPUT: the records are written there when the job is fetched")
    if save:
        raise UsageError("--save: the rows of a batch job are not saved as conversations; give --save or --remote")
    remote_submit.check_settings(settings, requests)
    remote_submit.check_not_pending(out.path)
    out.scan(rewrite=False)

    if dry_run:  # the client only says what it would send
        with open_client(settings, None, console) as client:
            return remote_submit.dry_run(client, remote_submit.read(rows, requests, out, None, keep_rows=False, warn=console.warn), out,
                                  console.io.stdout)

    key = apikey.get(console.io)
    with open_client(settings, key, console) as client:
        found = remote_submit.read(rows, requests, out, client, keep_rows=True, warn=console.warn)
        if not found.groups:
            remote_submit.discard(found)
            remote_submit.record_bad(found, out)
            done = f"{found.skipped} already completed in {out.path}" if found.skipped else "no rows"
            if found.bad:
                raise GeminiCliError(f"nothing to submit ({done}); {len(found.bad)} bad rows recorded as failed in "
                                     f"{out.path}", exit_code=ExitCode.BATCH_ROWS_FAILED)
            console.note(f"nothing to submit: {done}")
            return
        names = remote_submit.submit(client, requests, found, out, console, input=input)
        if not wait:
            console.note(f"follow with: gemini-cli jobs wait {out.path}; then: gemini-cli jobs fetch {out.path}")
            return

        records = [record for record in map(jobs.load, names) if record is not None]
        error = fetch_all(client, records, console, wait_first=True, progress=WaitProgress(console))
    if error is not None:
        raise error
