"""gemini-cli: a command-line client for Gemini's Interactions API."""

__version__ = "0.1.0"
