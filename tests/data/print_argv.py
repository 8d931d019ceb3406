"""A tool for the runner's tests: prints what it was started with as one JSON object."""
import json
import os
import sys

print(json.dumps({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd(), "stdin": sys.stdin.read()}))
