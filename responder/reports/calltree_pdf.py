"""The call tree printed to PDF: the HTML sheets through WeasyPrint, one A4 page per level.

WeasyPrint lays out the same HTML the ``--format html`` variant writes, so the two never differ, and
finds Noto Sans CJK through fontconfig (Debian's fonts-noto-cjk), embedding only the glyphs used.
A level with more people than fit is set in smaller type until it fits one page; below the smallest
size it runs onto a second page rather than become unreadable, and the caller is told.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from responder.domain.calltree import CallTree
from responder.reports.calltree_html import BASE_SIZE, render_calltree_html

if TYPE_CHECKING:
    from weasyprint import Document

SIZES = (BASE_SIZE, 7.5, 6.5, 6.0)
"""Type sizes tried in turn (pt); 6 pt is about the smallest a person reads off a wall at arm's length."""


@dataclass(frozen=True)
class PrintedTree:
    pdf: bytes
    sizes: dict[int, float]
    """The type size each level was set in."""
    pages: int
    overflowing: tuple[int, ...]
    """Levels that needed more than one page even at the smallest size."""


def render_calltree_pdf(tree: CallTree) -> PrintedTree:
    """Lay out each level on its own, shrinking it until it fits one A4 page, then join the pages."""
    with _quiet():
        return _render(tree)


def _render(tree: CallTree) -> PrintedTree:
    documents: list[Document] = []
    sizes: dict[int, float] = {}
    overflowing: list[int] = []
    for level in tree.levels:
        one = dataclasses.replace(tree, levels=(level,))
        for size in SIZES:
            document = _layout(render_calltree_html(one, {level.level: size}))
            if len(document.pages) == 1:
                break
        else:
            overflowing.append(level.level)
        documents.append(document)
        sizes[level.level] = size
    pages = [page for document in documents for page in document.pages]
    pdf = documents[0].copy(pages).write_pdf()
    assert pdf is not None
    return PrintedTree(pdf, sizes, len(pages), tuple(overflowing))


def _layout(html: str) -> Document:
    from weasyprint import HTML

    return HTML(string=html).render()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """WeasyPrint logs each CSS property it skips (print-color-adjust) at WARNING: noise on a duty officer's screen."""
    loggers = [logging.getLogger(name) for name in ("weasyprint", "fontTools")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
