"""UserPromptSubmit: notice a request to do several pieces of work in parallel, and suggest ctx.

Rules over normalised text: a parallel marker ("in parallel", "concurrently", "at the same time",
"spin up agents for each"), work to do (a verb of doing, several items or a plural of work), and
none of the signs that parallelism is the topic rather than the request (explain, why, a loop,
threads, numpy, a flaky test). No model, no network.
"""

from __future__ import annotations

import re

_MARKERS = re.compile(
    r"\b(in parallel|parallel(?:ly)?|paralleli[sz]e|paralleli[sz]ing|concurrently|at the same time|simultaneous(?:ly)?|"
    r"all at once|at once|side by side|in tandem|fan (?:them |it |these |those )?out|separate (?:agents|worktrees|branches)|"
    r"(?:multiple|several|many|\d+|two|three|four|five|six) (?:sub)?agents|(?:an?|one) (?:sub)?agent (?:for|per) (?:each|every)|"
    r"spin up (?:\w+ )?(?:sub)?agents|(?:sub)?agents for (?:each|all|every)|each in (?:its|their) own|"
    r"same time|one worktree (?:per|for each)|in (?:its|their) own (?:worktree|branch|agent)s?)\b")
_DOING = re.compile(
    r"\b(work on|working on|do|doing|implement|build|fix|tackle|handle|run|start|execute|create|add|refactor|"
    r"write|ship|knock out|get|finish|complete|make|develop|code|spin up|kick off|launch|go ahead|split|"
    r"parallelize|parallelise|split up|divide|assign|dispatch|delegate|take on|crank out|done|worked on|fan)\b")
_ITEMS = re.compile(
    r"\b(these|those|them|both|all|each|every|tasks?|items?|features?|issues?|tickets?|bugs?|steps?|parts?|"
    r"pieces|jobs|stories|todos?|modules|components|endpoints|pages|changes|fixes|workstreams|plan)\b|,|\band\b")
_QUESTION = re.compile(r"^(how|why|what|which|when|where|does|do you know|is|are|should)\b")
_TOPIC = re.compile(
    r"\b(explain|what is|what's|what are|how does|how do(?:es)? .* work|why (?:is|are|does|do)|is (?:numpy|pandas|python|it|this|node|rust|go)\b.*\?|"
    r"difference between|multiprocessing|multithread\w*|threads?|threading|thread pool|asyncio|async|await|"
    r"goroutines?|openmp|mpi|gpu|cuda|simd|vectori[sz]e|numpy|pandas|dask|ray\b|spark|rayon|for loop|loop|"
    r"parallel computing|parallelism|concurrency|race conditions?|deadlocks?|flaky|mutex|locks?\b|"
    r"pytest-xdist|xdist|-j\d|make -j|parallel (?:tests?|builds?|test runner|requests|queries|downloads|uploads|"
    r"processing|streams?|port|universe|lines)|speed ?up (?:the|my) (?:code|function|script)|benchmark)\b")


def normalise(prompt: str) -> str:
    text = prompt.lower().replace("’", "'")
    text = re.sub(r"`[^`]*`", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def wants_parallel_work(prompt: str) -> bool:
    if not isinstance(prompt, str):
        return False
    raw = prompt.strip()
    if not raw or raw.startswith("/"):
        return False
    text = normalise(raw)
    if len(text.split()) < 3:
        return False
    if not _MARKERS.search(text):
        return False
    if _TOPIC.search(text) or _QUESTION.match(text):
        return False
    return bool(_DOING.search(text)) and bool(_ITEMS.search(text))


def suggestion(plan_exists: bool) -> str:
    if plan_exists:
        return ("ctx: this looks like a request for parallel work and this repository has a ctx plan. "
                "Suggest /ctx:execute to run its tasks in parallel, each in its own git worktree and agent "
                "(/ctx:status shows where they stand).")
    return ("ctx: this looks like a request for parallel work. Suggest /ctx:plan first: it writes the work "
            "as a plan of independent tasks, which /ctx:execute then runs in parallel, each in its own git "
            "worktree and agent.")
