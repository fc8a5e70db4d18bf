"""Summary pages through the real notion-client against the loopback Notion:
Notion-Version on every request, data-source parents (2025-09-03) and database
parents (2022-06-28), block and text limits, file uploads, 429s obeyed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from standins.notion import MAX_CHILDREN, MAX_TEXT, NotionStandIn

from feedback.notion import NotionPublisher
from feedback.page import Bullets, Heading, Image, Page, Paragraph, Table
from feedback.plots import incidents_plot

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def notion():
    standin = NotionStandIn().start()
    yield standin
    standin.stop()


def long_page() -> Page:
    page = Page(
        title="credwatch summary",
        kind="weekly",
        created=datetime(2026, 3, 9, 8, 0, tzinfo=UTC),
    )
    page.add(Heading("Feature drift"), Paragraph("x" * 4500))
    page.add(Bullets(tuple(f"item {i}" for i in range(230))))
    page.add(
        Table(("feature", "PSI"), tuple((f"f{i}", f"0.{i:02d}") for i in range(30)))
    )
    chart = incidents_plot({"2026-03-08": {"expected": 2, "true-positive": 1}})
    page.add(Image("incidents.png", chart, "Incidents opened per day"))
    return page


def publisher(notion: NotionStandIn, version: str) -> NotionPublisher:
    return NotionPublisher(
        token=SecretStr(notion.token),
        database_id=notion.database_id,
        base_url=notion.url,
        notion_version=version,
        pace_s=0,
        timeout_s=5,
    )


@pytest.mark.parametrize("version", ["2025-09-03", "2022-06-28"])
def test_a_long_page_is_published_within_notions_limits(notion, version):
    notion.rate_limited = 2  # two 429s (Retry-After: 0) on the way
    client = publisher(notion, version)
    try:
        url = client.publish(long_page())
    finally:
        client.close()

    [stored] = notion.pages.values()
    assert url.startswith("https://www.notion.so/")
    assert (
        stored.properties["Name"]["title"][0]["text"]["content"] == "credwatch summary"
    )
    assert stored.properties["Kind"] == {"select": {"name": "weekly"}}
    if version == "2025-09-03":
        assert stored.parent == {
            "type": "data_source_id",
            "data_source_id": notion.data_source_id,
        }
    else:
        assert stored.parent == {"database_id": notion.database_id}
    # A heading, one paragraph of three pieces, 230 bullets, a table and an image:
    # 234 blocks, created with 100 and appended 100 and 34.
    assert len(stored.blocks) == 234
    paragraph = stored.blocks[1]["paragraph"]["rich_text"]
    assert [len(p["text"]["content"]) for p in paragraph] == [MAX_TEXT, MAX_TEXT, 500]
    appends = [r for r in notion.requests if r[0] == "PATCH"]
    assert len(appends) >= 2
    assert all(v == version for _, _, v in notion.requests)
    table = next(b for b in stored.blocks if b["type"] == "table")
    assert len(table["table"]["children"]) == 31
    image = next(b for b in stored.blocks if b["type"] == "image")
    upload = notion.uploads[image["image"]["file_upload"]["id"]]
    assert upload["status"] == "uploaded" and upload["size"] > 1000


def test_the_stand_in_refuses_what_notion_refuses(notion):
    from notion_client import Client
    from notion_client.errors import APIResponseError

    client = Client(auth=notion.token, base_url=notion.url, retry=False)
    parent = {"type": "data_source_id", "data_source_id": notion.data_source_id}
    too_many = [{"type": "divider", "divider": {}}] * (MAX_CHILDREN + 1)
    with pytest.raises(APIResponseError) as refused:
        client.pages.create(parent=parent, properties={}, children=too_many)
    assert refused.value.code == "validation_error"
    text = [
        {
            "type": "paragraph",
            "paragraph": {
                "rich_text": [
                    {"type": "text", "text": {"content": "y" * (MAX_TEXT + 1)}}
                ]
            },
        }
    ]
    with pytest.raises(APIResponseError) as refused:
        client.pages.create(parent=parent, properties={}, children=text)
    assert "2000" in str(refused.value)
    client.close()
