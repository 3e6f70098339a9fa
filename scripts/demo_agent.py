"""The demo's scripted agent: really edits, tests and commits in its worktree, like an agent would.

Standard library only; run as a script. It reads what to write from the JSON file in $CTX_DEMO_SCRIPT.
"""

import json
import os
import subprocess
import sys
import time


def main() -> int:
    task_id = os.environ["CTX_TASK_ID"]
    with open(os.environ["CTX_DEMO_SCRIPT"]) as fh:
        spec = json.load(fh)[task_id]
    print(f"reading the task file {os.environ['CTX_TASK_FILE']}", flush=True)
    time.sleep(float(os.environ.get("CTX_DEMO_THINK", "0.8")))  # a real agent takes a while
    for name, text in spec["files"].items():
        os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
        with open(name, "w") as fh:
            fh.write(text)
        print(f"wrote {name}", flush=True)
    print(f"running the tests: {spec['test']}", flush=True)
    test = subprocess.run(spec["test"].split(), capture_output=True, text=True)
    output = (test.stdout + test.stderr).strip()
    if test.returncode != 0:
        failure = [line for line in output.splitlines() if "Error" in line or "FAILED" in line]
        print(output, flush=True)
        print("tests failed: " + (failure[-1] if failure else f"exit {test.returncode}"), flush=True)
        return 1
    print(output.splitlines()[-1] if output else "tests passed", flush=True)
    subprocess.run(["git", "add", "-A"], check=True)
    subprocess.run(["git", "commit", "-q", "-m", spec["message"]], check=True)
    print("committed: " + spec["message"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
