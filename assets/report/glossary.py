"""The site's glossary (reports/glossary.yaml) and the links from the pages to it.

Each page's first use of a glossary term (in running text, never inside a link, heading, button,
script or the chart code) becomes a link to the term's entry on ``glossary.html``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import yaml

from pipelines.config import REPO_ROOT

GLOSSARY = REPO_ROOT / "reports" / "glossary.yaml"
_SKIP = {"a", "script", "style", "h1", "h2", "h3", "h4", "summary", "button", "select", "option", "label", "caption",
         "th", "code", "title", "nav", "header"}
_TAG = re.compile(r"(<[^>]+>)")
_NAME = re.compile(r"<\s*(/?)\s*([a-zA-Z0-9]+)")


@lru_cache(maxsize=1)
def glossary() -> dict:
    """The glossary: ``terms`` (id, term, matches, text) and ``models`` (asset -> plain words)."""
    data = yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))
    ids = [t["id"] for t in data["terms"]]
    if len(set(ids)) != len(ids) or not all(t.get("text") and t.get("matches") for t in data["terms"]):
        raise ValueError(f"{GLOSSARY}: every term needs a unique id, matches and text")
    return data


def _patterns() -> list[tuple[str, re.Pattern]]:
    out = []
    for t in glossary()["terms"]:
        for m in sorted(t["matches"], key=len, reverse=True):
            out.append((t["id"], re.compile(r"(?<![\w-])(" + re.escape(m) + r")(?![\w-])", re.I)))
    return sorted(out, key=lambda p: -len(p[1].pattern))


def link_terms(main: str, skip_ids: tuple[str, ...] = ("wave", "weighted", "unweighted", "percentage-points")) -> str:
    """``main`` (a page's content) with each term's first use linked to its glossary entry. Very common
    words (``skip_ids``) are left unlinked: linking every "wave" would make the page a field of links."""
    done: set[str] = set(skip_ids)
    patterns = [(i, p) for i, p in _patterns() if i not in done]
    parts = _TAG.split(main)
    stack: list[str] = []
    for k, part in enumerate(parts):
        if part.startswith("<"):
            m = _NAME.match(part)
            if m and m.group(2).lower() in _SKIP and not part.endswith("/>"):
                if m.group(1):
                    if m.group(2).lower() in stack:
                        del stack[len(stack) - 1 - stack[::-1].index(m.group(2).lower()):]
                else:
                    stack.append(m.group(2).lower())
            continue
        if stack or not part.strip():
            continue
        out, rest = "", part
        while True:
            best = None
            for term_id, pattern in patterns:
                if term_id in done:
                    continue
                found = pattern.search(rest)
                if found and (best is None or found.start() < best[1].start()):
                    best = (term_id, found)
            if best is None:
                break
            term_id, found = best
            out += rest[:found.start()] + f'<a class="term" href="glossary.html#{term_id}">{found.group(1)}</a>'
            rest = rest[found.end():]
            done.add(term_id)
        parts[k] = out + rest
    return "".join(parts)
