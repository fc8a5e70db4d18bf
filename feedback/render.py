"""Writing a summary page as Markdown and HTML, with its plots as PNG files.

Without Notion configured, each page goes to its own folder under
`settings.reports_dir`: `summary.md`, `summary.html` and the images beside them.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from feedback.page import Bullets, Heading, Image, Page, Paragraph, Table

logger = logging.getLogger(__name__)


def write_page(page: Page, *, reports_dir: Path) -> Path:
    """Write the page into a new folder under `reports_dir`; returns the folder."""
    folder = reports_dir / f"{page.created:%Y%m%dT%H%M%SZ}-{page.kind}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = reports_dir / f"{page.created:%Y%m%dT%H%M%SZ}-{page.kind}-{suffix}"
    folder.mkdir(parents=True)
    for image in page.images:
        (folder / image.name).write_bytes(image.data)
    (folder / "summary.md").write_text(to_markdown(page), encoding="utf-8")
    (folder / "summary.html").write_text(to_html(page), encoding="utf-8")
    logger.info("summary written to %s", folder)
    return folder


def to_markdown(page: Page) -> str:
    lines = [f"# {page.title}", ""]
    for block in page.blocks:
        if isinstance(block, Heading):
            lines += [f"{'#' * (block.level + 1)} {block.text}", ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, Bullets):
            lines += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, Table):
            lines.append("| " + " | ".join(_cell(c) for c in block.header) + " |")
            lines.append("| " + " | ".join("---" for _ in block.header) + " |")
            lines += [
                "| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows
            ]
            lines.append("")
        elif isinstance(block, Image):
            lines += [f"![{block.caption}]({block.name})", ""]
    return "\n".join(lines)


def to_html(page: Page) -> str:
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(page.title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}"
        "table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2rem .5rem}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>{esc(page.title)}</h1>",
    ]
    for block in page.blocks:
        if isinstance(block, Heading):
            level = min(block.level + 1, 6)
            parts.append(f"<h{level}>{esc(block.text)}</h{level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{esc(block.text)}</p>")
        elif isinstance(block, Bullets):
            items = "".join(f"<li>{esc(item)}</li>" for item in block.items)
            parts.append(f"<ul>{items}</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{esc(c)}</th>" for c in block.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                for row in block.rows
            )
            parts.append(
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            )
        elif isinstance(block, Image):
            parts.append(
                f'<figure><img src="{esc(block.name)}" alt="{esc(block.caption)}">'
                f"<figcaption>{esc(block.caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
