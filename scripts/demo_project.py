"""The demo's small project (textkit) and its six-task plan, with what the scripted agent writes for each task."""

from __future__ import annotations

TEST = "python -m unittest discover -s tests -q"

PROJECT = {
    "README.md": "# textkit\n\nSmall text utilities.\n",
    "textkit/__init__.py": '"""Small text utilities."""\n',
    "textkit/slug.py": (
        'def slugify(text: str) -> str:\n'
        '    """Lower-case words joined by hyphens."""\n'
        '    return "-".join(text.lower().split())\n'),
    "tests/__init__.py": "",
    "tests/test_slug.py": (
        "import unittest\n\nfrom textkit.slug import slugify\n\n\n"
        "class SlugTest(unittest.TestCase):\n"
        "    def test_spaces(self):\n"
        "        self.assertEqual(slugify('Hello  World'), 'hello-world')\n"),
}

# id -> (name, priority, dependencies, objective, files the agent writes, commit message)
TASKS = {
    "word-count": ("Word count", "high", [], "Add textkit.wordcount.count_words(text) -> int.", {
        "textkit/wordcount.py": (
            'import re\n\n\ndef count_words(text: str) -> int:\n'
            '    """Words are runs of letters, digits and apostrophes."""\n'
            '    return len(re.findall(r"[\\w\']+", text))\n'),
        "tests/test_wordcount.py": (
            "import unittest\n\nfrom textkit.wordcount import count_words\n\n\n"
            "class WordCountTest(unittest.TestCase):\n"
            "    def test_counts(self):\n"
            "        self.assertEqual(count_words(\"It's a small   world.\"), 4)\n"
            "        self.assertEqual(count_words(''), 0)\n"),
    }, "Add count_words"),
    "title-case": ("Title case", "medium", [], "Add textkit.titlecase.title_case(text) keeping small words lower-case.", {
        "textkit/titlecase.py": (
            'SMALL = {"a", "an", "and", "of", "the", "in", "on", "to"}\n\n\n'
            'def title_case(text: str) -> str:\n'
            '    words = text.lower().split()\n'
            '    return " ".join(w if i and w in SMALL else w.capitalize() for i, w in enumerate(words))\n'),
        "tests/test_titlecase.py": (
            "import unittest\n\nfrom textkit.titlecase import title_case\n\n\n"
            "class TitleCaseTest(unittest.TestCase):\n"
            "    def test_small_words(self):\n"
            "        self.assertEqual(title_case('the lord of the rings'), 'The Lord of the Rings')\n"),
    }, "Add title_case"),
    "slug-unicode": ("Unicode slugs", "medium", [], "Make slugify drop accents and punctuation.", {
        "textkit/slug.py": (
            'import re\nimport unicodedata\n\n\n'
            'def slugify(text: str) -> str:\n'
            '    """ASCII lower-case words joined by hyphens; accents and punctuation dropped."""\n'
            '    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()\n'
            '    return "-".join(re.findall(r"[a-z0-9]+", ascii_text.lower()))\n'),
        "tests/test_slug_unicode.py": (
            "import unittest\n\nfrom textkit.slug import slugify\n\n\n"
            "class UnicodeSlugTest(unittest.TestCase):\n"
            "    def test_accents(self):\n"
            "        self.assertEqual(slugify('Crème brûlée, s\\'il vous plaît!'), 'creme-brulee-s-il-vous-plait')\n"),
    }, "Drop accents and punctuation in slugify"),
    "reverse-words": ("Reverse words", "low", [], "Add textkit.reverse.reverse_words(text) reversing word order.", {
        "textkit/reverse.py": (
            'def reverse_words(text: str) -> str:\n'
            '    return text[::-1]  # reverses characters, not words: its test catches it\n'),
        "tests/test_reverse.py": (
            "import unittest\n\nfrom textkit.reverse import reverse_words\n\n\n"
            "class ReverseTest(unittest.TestCase):\n"
            "    def test_order(self):\n"
            "        self.assertEqual(reverse_words('one two three'), 'three two one')\n"),
    }, "Add reverse_words"),
    "cli": ("Command line", "high", ["word-count", "title-case"], "Add `python -m textkit.cli TEXT` printing the title and word count.", {
        "textkit/cli.py": (
            'import sys\n\nfrom textkit.titlecase import title_case\nfrom textkit.wordcount import count_words\n\n\n'
            'def main(argv=None) -> str:\n'
            '    text = " ".join(sys.argv[1:] if argv is None else argv)\n'
            '    line = f"{title_case(text)} ({count_words(text)} words)"\n'
            '    print(line)\n'
            '    return line\n\n\nif __name__ == "__main__":\n    main()\n'),
        "tests/test_cli.py": (
            "import unittest\n\nfrom textkit.cli import main\n\n\n"
            "class CliTest(unittest.TestCase):\n"
            "    def test_line(self):\n"
            "        self.assertEqual(main(['war', 'and', 'peace']), 'War and Peace (3 words)')\n"),
    }, "Add the textkit command line"),
    "docs": ("Usage docs", "low", ["slug-unicode"], "Document slugify's behaviour in the README.", {
        "README.md": (
            "# textkit\n\nSmall text utilities.\n\n## slugify\n\n"
            "`slugify('Crème brûlée!')` gives `creme-brulee`: ASCII, lower-case, hyphen-joined.\n"),
        "tests/test_docs.py": (
            "import pathlib\nimport unittest\n\n\n"
            "class DocsTest(unittest.TestCase):\n"
            "    def test_readme_documents_slugify(self):\n"
            "        text = pathlib.Path(__file__).parent.parent.joinpath('README.md').read_text()\n"
            "        self.assertIn('creme-brulee', text)\n"),
    }, "Document slugify"),
}
