"""GroupingStore: signatures and links are upserted, also by two writers at once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from storage.database import Database
from storage.grouping_store import (
    ArticleLink,
    GroupingSignature,
    GroupingStore,
    LinkRow,
    SignatureRow,
)


def signature(url: str, text_hash: str) -> SignatureRow:
    return SignatureRow(
        url, "scheme-1", text_hash, None, None, True, 20, b"m", b"b", b"s", b"t", b"w", b"k"
    )


def counts(database: Database) -> tuple[int, int]:
    with database.sessions() as session:
        signatures = session.scalar(select(func.count()).select_from(GroupingSignature))
        links = session.scalar(select(func.count()).select_from(ArticleLink))
    return int(signatures or 0), int(links or 0)


def test_saving_an_article_again_replaces_its_signature_and_links(database_url: str) -> None:
    database = Database(database_url)
    database.create_schema()
    store = GroupingStore(database)
    first = LinkRow("https://a.example/1", "https://b.example/1", "copy", "exact", 1.0)
    store.save([signature("https://a.example/1", "old")], [first, first])
    store.save(
        [signature("https://a.example/1", "new"), signature("https://a.example/1", "newer")],
        [LinkRow("https://a.example/1", "https://c.example/1", "story", "tfidf_avglink", 0.4)],
    )

    assert counts(database) == (1, 1)
    stored = list(store.iter_signatures("scheme-1"))
    assert [row.text_hash for row in stored] == ["newer"]
    index = list(store.iter_index_rows("scheme-1"))
    assert [(row.url, row.text_hash, row.bands) for row in index] == [
        ("https://a.example/1", "newer", b"b")
    ]
    assert list(store.iter_index_rows("scheme-2")) == []
    assert [link.other_url for link in store.iter_links()] == ["https://c.example/1"]
    database.dispose()


def test_two_writers_saving_the_same_articles_at_once_never_collide(database_url: str) -> None:
    database = Database(database_url)
    database.create_schema()
    urls = [f"https://wire.example/{number}" for number in range(50)]
    links = [LinkRow(url, urls[0], "copy", "containment", 0.9) for url in urls[1:]]
    errors: list[BaseException] = []

    def writer(start: threading.Barrier, text_hash: str) -> None:
        store = GroupingStore(Database(database_url))
        try:
            for _ in range(10):
                start.wait()
                store.save([signature(url, text_hash) for url in urls], links)
        except BaseException as error:
            errors.append(error)
            start.abort()
        finally:
            store.database.dispose()

    start = threading.Barrier(2)
    writers = [threading.Thread(target=writer, args=(start, name)) for name in ("x", "y")]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()

    assert errors == []
    assert counts(database) == (50, 49)
    database.dispose()
