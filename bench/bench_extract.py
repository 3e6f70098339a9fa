"""`ctx plan extract` on a generated 100 MB transcript: time and peak memory against a baseline.

Baseline: the straightforward reader that JSON-decodes every line of the transcript.
Run: python bench/bench_extract.py [--mb 100]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median, run_measured, today  # noqa: E402

PLAN = """**Type:** Plan

```yaml
metadata: {name: bench-plan}
tasks:
  - {id: a, name: A, priority: high, dependencies: []}
  - {id: b, name: B, priority: medium, dependencies: [a]}
```

### Task a: A
Do a.

### Task b: B
Do b.
"""

BASELINE = """
import json, sys
plan = None
for line in open(sys.argv[1], encoding="utf-8"):
    rec = json.loads(line)
    if rec.get("type") == "assistant" and not rec.get("isSidechain"):
        for block in rec["message"].get("content") or []:
            if block.get("type") == "text" and "**Type:** Plan" in block.get("text", ""):
                plan = block["text"]
print(len(plan or ""))
"""


def generate(path: Path, megabytes: int) -> None:
    """A realistic mix: tool results dominate the bytes; assistant text and tool calls are many lines."""
    rnd = random.Random(7)
    words = "the of function test file error module import return value class self data".split()
    target = megabytes * 1024 * 1024
    size, n = 0, 0
    with open(path, "w") as fh:
        while size < target:
            n += 1
            mid = f"msg_{n:08d}"
            kind = n % 4
            if kind == 0:
                text = " ".join(rnd.choice(words) for _ in range(rnd.randint(20, 200)))
                rec = {"type": "assistant", "isSidechain": False, "uuid": f"u{n}",
                       "message": {"id": mid, "role": "assistant", "model": "claude-sonnet-4-5",
                                   "content": [{"type": "text", "text": text}],
                                   "usage": {"input_tokens": 10, "output_tokens": 50}}}
            elif kind == 1:
                rec = {"type": "assistant", "isSidechain": False, "uuid": f"u{n}",
                       "message": {"id": mid, "role": "assistant", "content": [
                           {"type": "tool_use", "id": f"t{n}", "name": "Bash",
                            "input": {"command": "pytest -q tests/", "description": "run tests"}}]}}
            else:
                out = "\n".join(" ".join(rnd.choice(words) for _ in range(12)) for _ in range(rnd.randint(5, 120)))
                rec = {"type": "user", "isSidechain": False, "uuid": f"u{n}",
                       "message": {"role": "user", "content": [
                           {"type": "tool_result", "tool_use_id": f"t{n}", "content": out}]}}
            if n == 1000:
                rec = {"type": "assistant", "isSidechain": False, "uuid": "plan",
                       "message": {"id": "msg_plan", "role": "assistant", "content": [{"type": "text", "text": PLAN}]}}
            line = json.dumps(rec, separators=(",", ":")) + "\n"
            fh.write(line)
            size += len(line)


def measure(transcript: Path, repo: Path, runs: int) -> tuple[float, int, float, int]:
    ctx_times, ctx_rss, base_times, base_rss = [], [], [], []
    for _ in range(runs):
        elapsed, rss, proc = run_measured([sys.executable, "-m", "ctx", "plan", "extract", "--force",
                                           "--transcript", str(transcript)], cwd=repo)
        assert proc.returncode == 0, proc.stderr
        ctx_times.append(elapsed)
        ctx_rss.append(rss)
        elapsed, rss, proc = run_measured([sys.executable, "-c", BASELINE, str(transcript)])
        assert proc.returncode == 0, proc.stderr
        base_times.append(elapsed)
        base_rss.append(rss)
    return median(ctx_times), max(ctx_rss), median(base_times), max(base_rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"# plan extract benchmark — {today()} — {machine()}")
    print(f"median of {args.runs} runs; baseline = a reader that JSON-decodes every line")
    print("| transcript | ctx time | ctx peak RSS | baseline time | baseline peak RSS | speed-up |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        repo = tmp / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        for mb in sorted({max(1, args.mb // 10), args.mb}):
            transcript = tmp / f"session-{mb}.jsonl"
            generate(transcript, mb)
            t_ctx, rss_ctx, t_base, rss_base = measure(transcript, repo, args.runs)
            print(f"| {mb} MB | {t_ctx:.2f} s | {rss_ctx / 1024:.0f} MiB | {t_base:.2f} s | "
                  f"{rss_base / 1024:.0f} MiB | {t_base / t_ctx:.1f}x |")
            transcript.unlink()


if __name__ == "__main__":
    main()
