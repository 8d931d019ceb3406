"""gemini-cli: a command-line client for Gemini's Interactions API."""

import sys

# gemini_cli.app is imported inside main(): Ctrl-C while the modules load (~70 ms, before
# app.py's error funnel exists) is caught there, and `import gemini_cli` (__version__) loads nothing.

__version__ = "0.1.0"


def main() -> None:
    """The console script. Ctrl-C while the modules load (before app.py's error funnel
    exists) exits 130 with one line, never a traceback."""
    try:
        from gemini_cli.app import main as run
    except KeyboardInterrupt:
        sys.stderr.write("gemini-cli: error: interrupted\n")
        sys.exit(130)
    run()
