"""UserPromptSubmit: notice a request to do several pieces of work in parallel, and suggest ctx.

Rules over normalised text, all of which must hold:
- a marker of parallel execution: "in parallel", "concurrently", "at the same time", "parallelize",
  "fan out", several (sub)agents or workers, an agent per item, each in its own worktree. The bare
  adjectives ("the lines are parallel", "a parallel universe", "simultaneous equations") are not;
- work to do: a verb of doing and a word for the work (these, the tasks, the backlog, this work, a list);
- no sign that parallelism is the topic (explain, why, threads, numpy, a flaky test, geometry) or a
  property being added to a program (a command-line flag, "so it compresses files in parallel",
  "make the uploader send chunks in parallel", requests, rows or shards processed at once).
No model, no network.
"""

from __future__ import annotations

import re

_AGENTS = r"(?:sub)?agents|workers|worktrees"
# Markers that name the way of working (agents, worktrees, fanning out): work to do is enough.
_STRONG = (
    r"\b(paralleli[sz](?:e|es|ed|ing)|go parallel|"
    r"(?:fan|farm|hand|spread|split|divide|parcel|dole|kick|send) (?:[\w'-]+ ){0,4}?out\b|"
    rf"parallel (?:{_AGENTS}|branches|sessions|tracks|tasks)|separate (?:sub)?agents?|separate (?:worktrees|branches)|"
    r"(?:multiple|several|many|a few|a couple of|some|\d+|two|three|four|five|six|seven|eight) "
    rf"(?:parallel )?(?:{_AGENTS})|"
    r"(?:an?|one|its own|their own) (?:sub)?agent (?:for|per|each|on) (?:each|every|\w+)|"
    rf"(?:spin up|launch|start|use|dispatch) (?:\w+ )?(?:{_AGENTS})|(?:sub)?agents (?:for|on|to) (?:each|all|every)|"
    rf"(?:among|across|between|over|to) (?:[\w-]+ ){{0,3}}?(?:{_AGENTS})|"
    r"each in (?:its|their) own|(?:one|a|its own|their own) (?:worktree|branch|agent) (?:per|for|each)|"
    r"in (?:its|their) own (?:worktree|branch|agent)s?)\b")
# Markers of doing things together: they also need a word for several pieces of work.
_WEAK = (
    r"\b(in parallel|parallelly|concurrently|at the same time|simultaneously|all at once|at once|"
    r"side by side|in tandem|"
    r"(?:rather than|instead of|not) (?:one (?:by|after|at a) (?:one|another|time)|sequentially|serially))\b")
_DOING = (
    r"\b(work on|working on|work through|go through|get through|do|doing|implement|build|fix|tackle|handle|run|"
    r"start|execute|carry out|create|add|refactor|write|ship|knock out|get|finish|complete|make|develop|code|"
    r"spin up|kick off|launch|go ahead|split|paralleli[sz]e|split up|divide|assign|dispatch|delegate|take on|"
    r"crank out|done|worked on|fan|farm|hand|spread|clear|use|have|let|put|send|give|update|migrate|port|"
    r"rewrite|review|running|kick|go|take|work|distribute|tackled|handled|finished|completed|fixed|implemented)\b")
_ITEMS = (
    r"\b(these|those|them|both|all|each|every|everything|tasks?|items?|features?|issues?|tickets?|bugs?|steps?|"
    r"parts?|pieces|jobs|stories|todos?|chores|modules|components|endpoints|pages|changes|fixes|refactors|"
    r"workstreams|plan|list|backlog|rest|remaining|services|sections|subtasks|areas|following|below|above)\b|"
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|\d+) [\w']+|"
    r"\b(?:this|the|that|our|my|remaining) work\b|,|\band\b")
_QUESTION = (
    r"^(?:how|why|what|which|when|where|does|do you know|is|are|should|was|were|did)\b|"
    # a statement about a program or a past run: "the two loops run in parallel and corrupt the counter"
    r"^(?:the|our|my|their|its|this|that)\b[^,.;:?!]*?\b(?:runs?|ran|are|is|were|was|should|must|will|would|"
    r"can|could|needs? to|have|has|had|kept|keeps|got|seems?)\b|"
    # "can docker compose start services in parallel?" asks about a program, not for work
    r"^(?:can|could|will|would) (?!you\b|we\b|u\b|(?:the |some |several |multiple |a few |\d+ )?(?:sub)?agents\b)")
_TOPIC = (
    r"\b(explain|what is|what's|what are|how does|how do(?:es)? .* work|why (?:is|are|does|do)|"
    r"is (?:numpy|pandas|python|it|this|node|rust|go)\b.*\?|"
    r"difference between|multiprocessing|multithread\w*|threads?|threading|thread pool|asyncio|async|await|"
    r"goroutines?|openmp|mpi|gpu|cuda|simd|vectori[sz]e|numpy|numba|joblib|celery|pandas|dask|ray\b|spark|"
    r"rayon|for loops?|loops?|ffmpeg|docker|makefile|kubernetes|in ci\b|ci (?:pipeline|jobs?|config)|"
    r"parallel computing|parallelism|concurrency|race conditions?|deadlocks?|flaky|"
    r"mutex|locks?\b|semaphore|pytest-xdist|xdist|-j\d|make -j|(?:worker|process|connection) pool|"
    r"parallel (?:tests?|builds?|test runner|requests|queries|downloads|uploads|processing|streams?|port|"
    r"universe|lines)|speed ?up (?:the|my) (?:code|function|script)|benchmark|blog post|design doc|article|"
    r"talk|slides|"
    r"(?:readme|docs|documentation|changelog|release notes|comment) (?:to say|saying|that)|document (?:how|that|the)|"
    r"test (?:suite|files|runner)|tests run|"
    # data a program handles, as opposed to work for agents
    r"requests|queries|connections|chunks|shards|rows|records|urls|packets|batches|videos|images|photos|hosts|"
    r"servers|containers|pods|"
    # a program being written: "a script that pings all the hosts in parallel"
    r"(?:the|this|our|my) (?:worker|server|daemon|scheduler|runner|loader|pipeline|client) to|"
    r"(?:an?|the) (?:script|program|tool|function|class|service|cli|app|command|job|method) (?:that|which|to)|"
    # a property being added to a program
    r"flag|option|setting|"
    r"so (?:that )?(?:it|they|we can|the \w+)|"
    r"(?:make|let|get) (?:the|this|my|our|it) (?:[\w-]+ ){0,3}?(?:run|process|fetch|download|upload|send|execute|load|"
    r"write|read|compress|resize|handle|render|encode|decode|sync|crawl|scan)s?|"
    r"(?:runs|executes|processes|fetches|downloads|uploads|writes|reads|compresses|computes|sends|loads|"
    r"renders|spawns|resizes|encodes|decodes|parses|scans|crawls|syncs))\b|--[a-z]")


def normalise(prompt: str) -> str:
    text = prompt.lower().replace("’", "'").replace("sub-agent", "subagent")
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
    # Each pattern is compiled on first use, which costs more than the search: most prompts stop at the
    # markers, and _STRONG (the dearest) is compiled only when its outcome matters and a word it needs is there.
    strong_only = not re.search(_WEAK, text)  # without a weak marker, a strong one must be there
    if strong_only and not _strong(text):
        return False
    if re.search(_TOPIC, text) or re.match(_QUESTION, text) or not re.search(_DOING, text):
        return False
    return strong_only or bool(re.search(_ITEMS, text)) or _strong(text)


# Every alternative of _STRONG contains one of these: without them it cannot match.
_STRONG_NEEDS = ("parallel", "out", "separate", "agent", "worker", "worktree", "own", "branch")


def _strong(text: str) -> bool:
    return any(word in text for word in _STRONG_NEEDS) and bool(re.search(_STRONG, text))


def suggestion(plan_exists: bool) -> str:
    if plan_exists:
        return ("ctx: this looks like a request for parallel work and this repository has a ctx plan. "
                "Suggest /ctx:execute to run its tasks in parallel, each in its own git worktree and agent "
                "(/ctx:status shows where they stand).")
    return ("ctx: this looks like a request for parallel work. Suggest /ctx:plan first: it writes the work "
            "as a plan of independent tasks, which /ctx:execute then runs in parallel, each in its own git "
            "worktree and agent.")
